"""WeCom (企业微信) integration (issue 10 item 5): behaviour data imported as value events (importer.py)."""

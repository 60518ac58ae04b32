"""Until schema/__init__.py imports EventConfirmationMutation from schema.events (then this module goes)."""

from schema.events import EventConfirmationMutation

__all__ = ["EventConfirmationMutation"]

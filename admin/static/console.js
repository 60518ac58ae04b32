// Console-wide touches on sqladmin's own pages: its delete dialog's text is an English literal in its JavaScript,
// replaced here by the page's own translated text (a meta tag rendered in the reader's language).
(function () {
  var meta = document.querySelector('meta[name="kaohe-delete-text"]');
  if (!meta || !window.jQuery) { return; }
  window.jQuery(document).on('shown.bs.modal', '#modal-delete', function () {
    window.jQuery('#modal-delete-text').text(meta.getAttribute('content'));
  });
})();

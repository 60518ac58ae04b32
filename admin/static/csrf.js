// Every state-changing request of the console carries the session's CSRF token (admin/security.py):
// a hidden field in every POST form (forms rendered by sqladmin's own templates included) and a header on
// jQuery and fetch requests (sqladmin's delete and import).
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) { return; }
  var token = meta.getAttribute('content');
  function stamp(form) {
    if ((form.getAttribute('method') || '').toUpperCase() !== 'POST') { return; }
    if (form.querySelector('input[name="csrf_token"]')) { return; }
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'csrf_token';
    input.value = token;
    form.appendChild(input);
  }
  document.querySelectorAll('form').forEach(stamp);
  document.addEventListener('submit', function (event) { stamp(event.target); }, true);
  if (window.jQuery) {
    window.jQuery.ajaxSetup({ headers: { 'X-CSRF-Token': token } });
  }
  var originalFetch = window.fetch;
  window.fetch = function (resource, init) {
    init = init || {};
    var method = (init.method || 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      var headers = new Headers(init.headers || {});
      headers.set('X-CSRF-Token', token);
      init.headers = headers;
    }
    return originalFetch(resource, init);
  };
})();

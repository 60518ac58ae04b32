// The scheme designer: a form over the configuration contract (DESIGN.md), kept in sync with the JSON view.
// The config object is the single state: every input reads and writes one JSON path of it; the hidden JSON textarea
// is what the form posts (the server validates the whole config and stores nothing when it is invalid). Problems
// the server found come back with their JSON paths and are shown next to the input of that path (or the nearest
// enclosing section). Keys the form does not know are kept as they are.
(function () {
  'use strict';
  var T = window.KAOHE_TEXT || {};
  var L = window.KAOHE_LABELS || {};
  var config = window.KAOHE_CONFIG;
  var root = document.getElementById('designer-root');
  var jsonArea = document.getElementById('config-json');
  if (!root || !jsonArea) { return; }
  function isObject(value) { return value !== null && typeof value === 'object' && !Array.isArray(value); }
  if (!isObject(config)) {
    var parsed = null;
    try { parsed = JSON.parse(jsonArea.value); } catch (e) { parsed = null; }
    if (!isObject(parsed)) {
      // not an object at all: only the JSON view can show what was typed (the form would overwrite it)
      document.querySelector('[data-tab-panel="form"]').style.display = 'none';
      document.querySelector('[data-tab-panel="json"]').style.display = '';
      return;
    }
    config = parsed;
  }

  var AGGREGATES = ['count', 'sum_amount', 'sum_value', 'avg_value', 'count_distinct_customers', 'ratio'];
  var REWARD_TYPES = ['commission', 'ladder', 'score_bonus', 'rank_bonus', 'team_pool'];
  var PENALTY_TYPES = ['per_event', 'threshold', 'demotion'];
  var METRIC_FIELDS = [
    ['key', 'text'], ['label', 'text'], ['aggregate', 'select', AGGREGATES], ['events', 'list'],
    ['filter', 'json'], ['credit', 'select', ['', 'actor', 'credited']], ['numerator', 'text'],
    ['denominator', 'text'], ['target', 'number'], ['weight', 'number'], ['on_empty', 'select', ['', 'zero', 'full']],
    ['scoring.type', 'select', ['', 'linear', 'threshold', 'bands']], ['scoring.cap', 'number'],
    ['scoring.direction', 'select', ['', 'higher', 'lower']]
  ];
  var REWARD_FIELDS = {
    commission: [['base', 'text'], ['mode', 'select', ['flat', 'progressive', 'whole']], ['rate', 'number'],
      ['gate.min_score', 'number']],
    ladder: [['metric', 'text'], ['gate.min_score', 'number']],
    score_bonus: [['base_amount', 'number'], ['cap', 'number'], ['gate.min_score', 'number']],
    rank_bonus: [['per_team', 'bool'], ['gate.min_score', 'number']],
    team_pool: [['metric', 'text'], ['split', 'select', ['equal', 'pro_rata']], ['gate.min_score', 'number']]
  };
  var REWARD_ROWS = {
    commission: ['tiers', [['from', 'number'], ['rate', 'number']]],
    ladder: ['steps', [['min', 'number'], ['amount', 'number']]],
    rank_bonus: ['ranks', [['rank', 'number'], ['amount', 'number']]],
    team_pool: ['steps', [['min', 'number'], ['amount', 'number']]]
  };
  var PENALTY_FIELDS = {
    per_event: [['events', 'list'], ['filter', 'json'], ['amount', 'number']],
    threshold: [['below_score', 'number'], ['amount', 'number'], ['pct_of_rewards', 'number']],
    demotion: [['below_score', 'number'], ['periods', 'number']]
  };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') { node.textContent = attrs[name]; } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }
  function getPath(obj, dotted) {
    return dotted.split('.').reduce(function (o, k) { return o && typeof o === 'object' ? o[k] : undefined; }, obj);
  }
  function setPath(obj, dotted, value) {
    var keys = dotted.split('.');
    var last = keys.pop();
    var target = obj;
    keys.forEach(function (k) {
      if (typeof target[k] !== 'object' || target[k] === null) { target[k] = {}; }
      target = target[k];
    });
    if (value === undefined) { delete target[last]; } else { target[last] = value; }
    // an emptied nested object (scoring, gate) goes away with its last key
    if (keys.length && Object.keys(target).length === 0) { setPath(obj, keys.join('.'), undefined); }
  }
  function parseNumber(text) {
    var trimmed = text.trim();
    if (trimmed === '') { return undefined; }
    var number = Number(trimmed);
    return isNaN(number) ? trimmed : number;  // kept as typed: the server names the problem
  }
  function sync() {
    jsonArea.value = JSON.stringify(config, null, 2);
    updateWeights();
  }
  function jsonPath(base, dotted) {
    return base + (base ? '.' : '') + dotted;
  }

  function field(obj, base, spec) {
    var name = spec[0], kind = spec[1], options = spec[2];
    var path = jsonPath(base, name);
    var value = getPath(obj, name);
    var input;
    if (kind === 'select') {
      input = el('select', { 'class': 'form-select form-select-sm' });
      var choices = options.slice();
      if (value !== undefined && choices.indexOf(value) < 0) { choices.push(value); }
      choices.forEach(function (choice) {
        var option = el('option', { value: choice, text: choice === '' ? '—' : choice });
        if (value === choice || (value === undefined && choice === '')) { option.selected = true; }
        input.appendChild(option);
      });
      input.addEventListener('change', function () {
        setPath(obj, name, input.value === '' ? undefined : input.value);
        if (/(^|\.)type$/.test(name)) { render(); } else { sync(); }
      });
    } else if (kind === 'bool') {
      input = el('input', { type: 'checkbox', 'class': 'form-check-input' });
      input.checked = value === true;
      input.addEventListener('change', function () { setPath(obj, name, input.checked ? true : undefined); sync(); });
    } else {
      input = el('input', { 'class': 'form-control form-control-sm', type: 'text' });
      if (kind === 'list') {
        input.value = Array.isArray(value) ? value.join(', ') : (value === undefined ? '' : String(value));
      } else if (kind === 'json') {
        input.value = value === undefined ? '' : JSON.stringify(value);
        input.placeholder = '{"channel": "offline"}';
      } else {
        input.value = value === undefined || value === null ? '' : String(value);
      }
      if (kind === 'number') { input.setAttribute('inputmode', 'decimal'); }
      input.addEventListener('input', function () {
        var text = input.value;
        if (kind === 'number') { setPath(obj, name, parseNumber(text)); }
        else if (kind === 'list') {
          var items = text.split(/[,，\s]+/).filter(function (s) { return s; });
          setPath(obj, name, text.trim() === '' ? undefined : items);
        } else if (kind === 'json') {
          if (text.trim() === '') { setPath(obj, name, undefined); }
          else { try { setPath(obj, name, JSON.parse(text)); input.classList.remove('is-invalid'); } catch (e) { input.classList.add('is-invalid'); return; } }
        } else { setPath(obj, name, text === '' ? undefined : text); }
        sync();
      });
    }
    input.setAttribute('data-path', path);
    input.setAttribute('name', 'f:' + path);
    input.id = 'f-' + path.replace(/[^a-zA-Z0-9]+/g, '-');
    return el('div', { 'class': 'kh-field', 'data-field-path': path }, [
      el('label', { 'for': input.id, text: L[name] || name }), input
    ]);
  }

  function rows(obj, base, listName, specs) {
    if (!Array.isArray(obj[listName])) { obj[listName] = []; }
    var list = obj[listName];
    var path = jsonPath(base, listName);
    var table = el('table', { 'class': 'kh-rows', 'data-path': path });
    var head = el('tr', {}, specs.map(function (s) { return el('th', { 'class': 'small text-muted', text: L[s[0]] || s[0] }); }));
    table.appendChild(head);
    list.forEach(function (item, index) {
      var cells = specs.map(function (s) { return el('td', {}, [field(item, path + '[' + index + ']', s).lastChild]); });
      var remove = el('button', { type: 'button', 'class': 'btn btn-sm btn-ghost-danger', text: '×', title: T.remove });
      remove.addEventListener('click', function () { list.splice(index, 1); render(); });
      table.appendChild(el('tr', { 'data-path': path + '[' + index + ']' }, cells.concat([el('td', {}, [remove])])));
    });
    var add = el('button', { type: 'button', 'class': 'btn btn-sm', text: '+ ' + (L[listName] || listName) });
    add.addEventListener('click', function () { list.push({}); render(); });
    return el('div', { 'class': 'kh-field mt-1', 'data-field-path': path }, [
      el('label', { text: L[listName] || listName }), table, add
    ]);
  }

  function section(title, path, children) {
    return el('div', { 'class': 'kh-section', 'data-path': path, 'data-field-path': path },
      [el('h4', { text: title })].concat(children));
  }

  function items(listName, title, build, blank) {
    if (!Array.isArray(config[listName])) { config[listName] = []; }
    var list = config[listName];
    var children = list.map(function (item, index) {
      var path = listName + '[' + index + ']';
      var remove = el('button', { type: 'button', 'class': 'btn btn-sm btn-ghost-danger float-end', text: T.remove });
      remove.addEventListener('click', function () { list.splice(index, 1); render(); });
      return el('div', { 'class': 'kh-item', 'data-path': path, 'data-field-path': path }, [remove].concat(build(item, path)));
    });
    var add = el('button', { type: 'button', 'class': 'btn btn-sm', id: 'add-' + listName, text: '+ ' + T.add });
    add.addEventListener('click', function () { list.push(JSON.parse(JSON.stringify(blank))); render(); });
    return section(title, listName, children.concat([add]));
  }

  function metric(item, path) {
    var grid = el('div', { 'class': 'kh-grid' }, METRIC_FIELDS.map(function (s) { return field(item, path, s); }));
    var parts = [grid];
    if (item.scoring && item.scoring.type === 'bands') {
      parts.push(rows(item.scoring, path + '.scoring', 'bands', [['min', 'number'], ['points', 'number']]));
    }
    return parts;
  }
  function rule(kinds, rowsByType) {
    return function (item, path) {
      var common = [['key', 'text'], ['label', 'text'], ['type', 'select', Object.keys(kinds)]];
      var specs = common.concat(kinds[item.type] || []);
      var parts = [el('div', { 'class': 'kh-grid' }, specs.map(function (s) { return field(item, path, s); }))];
      var extra = rowsByType && rowsByType[item.type];
      if (extra) { parts.push(rows(item, path, extra[0], extra[1])); }
      return parts;
    };
  }

  function render() {
    root.innerHTML = '';
    var general = section(T.general, '', [el('div', { 'class': 'kh-grid' }, [
      field(config, '', ['cycle', 'select', ['week', 'month', 'quarter', 'year']]),
      field(config, '', ['timezone', 'text']),
      field(config, '', ['participants.roles', 'list']),
      field(config, '', ['participants.teams', 'list']),
      field(config, '', ['penalty_cap', 'number'])
    ])]);
    root.appendChild(general);
    root.appendChild(items('metrics', T.metrics, metric, { key: '', aggregate: 'count', events: [] }));
    var grades = section(T.grades, 'grades', [rows(config, '', 'grades', [['min', 'number'], ['grade', 'text']])]);
    root.appendChild(grades);
    root.appendChild(items('rewards', T.rewards, rule(REWARD_FIELDS, REWARD_ROWS), { key: '', type: 'ladder', steps: [] }));
    root.appendChild(items('penalties', T.penalties, rule(PENALTY_FIELDS, null), { key: '', type: 'per_event', events: [], amount: 0 }));
    sync();
    showProblems();
  }

  function updateWeights() {
    var indicator = document.getElementById('weights-indicator');
    if (!indicator) { return; }
    var sum = 0;
    (Array.isArray(config.metrics) ? config.metrics : []).forEach(function (m) {
      if (m && typeof m.weight === 'number') { sum += m.weight; }
    });
    sum = Math.round(sum * 10000) / 10000;
    indicator.textContent = T.weights + ': ' + sum + ' / 100';
    indicator.className = 'badge ' + (sum === 100 ? 'bg-green-lt' : 'bg-red-lt');
    indicator.setAttribute('data-sum', String(sum));
  }

  // "metrics[0].scoring.bands[1].points" -> the input of that path, else of "metrics[0].scoring.bands[1]", ...
  function targetOf(path) {
    var candidate = path;
    while (candidate) {
      var found = root.querySelector('[data-field-path="' + candidate.replace(/"/g, '') + '"]');
      if (found) { return found; }
      var cut = Math.max(candidate.lastIndexOf('.'), candidate.lastIndexOf('['));
      candidate = cut > 0 ? candidate.slice(0, cut) : '';
    }
    return null;
  }
  function showProblems() {
    (window.KAOHE_PROBLEMS || []).forEach(function (problem) {
      var target = problem.field === 'metrics' ? null : targetOf(problem.field || '');
      var note = el('div', {
        'class': 'kh-error', 'data-error-for': problem.field || '', 'data-code': problem.configCode || problem.code,
        text: problem.message + ' (' + (problem.configCode || problem.code) + ')'
      });
      if (problem.field === 'metrics') {
        // the weights rule is about the metrics as a whole: next to the weight inputs' sum, and on the section
        var indicator = document.getElementById('weights-indicator');
        indicator.parentNode.insertBefore(note, indicator.nextSibling);
        var metricsSection = root.querySelector('[data-field-path="metrics"]');
        if (metricsSection) { metricsSection.insertBefore(note.cloneNode(true), metricsSection.children[1] || null); }
        root.querySelectorAll('input[data-path$=".weight"]').forEach(function (input) { if (input.value) { input.classList.add('is-invalid'); } });
        return;
      }
      if (!target) { return; }
      var input = target.querySelector('input, select');
      if (input && target.getAttribute('data-field-path') === problem.field) { input.classList.add('is-invalid'); }
      target.appendChild(note);
    });
  }

  document.querySelectorAll('[data-tab]').forEach(function (tab) {
    tab.addEventListener('click', function (event) {
      event.preventDefault();
      var wanted = tab.getAttribute('data-tab');
      if (wanted === 'form') {
        try { config = JSON.parse(jsonArea.value); } catch (e) { return; }
        render();
      }
      document.querySelectorAll('[data-tab]').forEach(function (t) { t.classList.toggle('active', t === tab); });
      document.querySelectorAll('[data-tab-panel]').forEach(function (panel) {
        panel.style.display = panel.getAttribute('data-tab-panel') === wanted ? '' : 'none';
      });
    });
  });
  document.querySelectorAll('[data-confirm]').forEach(function (button) {
    button.addEventListener('click', function (event) {
      if (!window.confirm(button.getAttribute('data-confirm'))) { event.preventDefault(); }
    });
  });
  // Saving from the JSON tab posts what was typed there; from the form tab, the form's config.
  document.getElementById('designer-form').addEventListener('submit', function () {
    var jsonVisible = document.querySelector('[data-tab-panel="json"]').style.display !== 'none';
    if (!jsonVisible) { jsonArea.value = JSON.stringify(config, null, 2); }
  });
  render();
})();

// gpudesk portal: live updates. Everything from the server goes into the
// page through textContent or attributes, never innerHTML.
(function () {
  'use strict';
  var csrfMeta = document.querySelector('meta[name=csrf]');
  var csrf = csrfMeta ? csrfMeta.content : '';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function toast(msg) {
    var t = document.getElementById('toast');
    if (t) { t.textContent = msg; t.classList.add('show'); setTimeout(function () { t.classList.remove('show'); }, 6000); }
  }

  function dur(s) {
    if (!s) return '';
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    return (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + sec + 's';
  }

  // Start/stop/restart buttons: POST with the CSRF token; the new state
  // arrives through the event stream.
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!f.classList || !f.classList.contains('act')) return;
    ev.preventDefault();
    var b = f.querySelector('button');
    if (b) b.disabled = true;
    fetch(f.action, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' } })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (j) { toast(j.error || r.statusText); }, function () { toast(r.statusText); });
      })
      .catch(function (e) { toast(String(e)); })
      .finally(function () { if (b) b.disabled = false; });
  });

  function actForm(name, action) {
    var f = el('form', 'act');
    f.method = 'post';
    f.action = '/api/processes/' + encodeURIComponent(name) + '/' + action;
    var b = el('button', '', action.charAt(0).toUpperCase() + action.slice(1));
    f.appendChild(b);
    return f;
  }

  function renderProcs(list) {
    var tb = document.getElementById('procs');
    if (!tb) return;
    var rows = list.map(function (p) {
      var tr = el('tr');
      tr.dataset.name = p.name;
      tr.dataset.state = p.state;
      tr.appendChild(el('td', 'name', p.name));
      tr.appendChild(el('td', 'state', p.state));
      tr.appendChild(el('td', 'desc', p.description));
      tr.appendChild(el('td', 'pid', p.pid ? String(p.pid) : ''));
      tr.appendChild(el('td', 'uptime', dur(p.uptime)));
      var acts = el('td', 'acts');
      if (p.running) {
        if (!p.protected) { acts.appendChild(actForm(p.name, 'stop')); acts.appendChild(actForm(p.name, 'restart')); }
      } else {
        acts.appendChild(actForm(p.name, 'start'));
      }
      tr.appendChild(acts);
      return tr;
    });
    tb.replaceChildren.apply(tb, rows);
  }

  function renderCards(list) {
    var box = document.getElementById('cards');
    var cards = list.map(function (c) {
      var a = el('article', 'card' + (c.dimmed ? ' dim' : '') + (c.error ? ' bad' : ''));
      a.appendChild(el('h2', '', c.name));
      if (c.public_port) {
        a.dataset.program = c.program || '';
        a.dataset.port = String(c.public_port);
        var meta = el('p', 'meta', 'port ' + c.public_port + (c.state ? ' · ' : ''));
        if (c.state) meta.appendChild(el('span', 'pstate', c.state));
        a.appendChild(meta);
        var ul = el('ul', 'links');
        [['direct', 'Direct'], ['quick_tunnel', 'Quick tunnel'], ['named_tunnel', 'Named tunnel']].forEach(function (k) {
          var u = c.links && c.links[k[0]];
          if (!u || !/^https?:\/\//.test(u)) return;
          var li = el('li'), link = el('a', '', k[1]);
          link.href = u; link.target = '_blank'; link.rel = 'noopener';
          li.appendChild(link); ul.appendChild(li);
        });
        a.appendChild(ul);
      } else {
        a.appendChild(el('p', 'meta', c.file));
      }
      if (c.error) a.appendChild(el('p', 'error', c.error));
      return a;
    });
    if (!cards.length) cards = [el('p', '', 'No service has registered in /run/http_ports yet.')];
    box.replaceChildren.apply(box, cards);
  }

  function applyState(st) {
    var cardsBox = document.getElementById('cards');
    if (cardsBox && String(st.services_version) !== cardsBox.dataset.version) {
      cardsBox.dataset.version = String(st.services_version);
      fetch('/api/services', { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.json(); })
        .then(function (j) { renderCards(j.services || []); applyState(st); });
    }
    var sum = document.getElementById('startup-summary');
    var box = document.getElementById('startup');
    if (sum && st.startup) {
      sum.textContent = st.startup.summary;
      box.className = 'startup phase-' + st.startup.phase;
    }
    renderProcs(st.processes || []);
    var states = {};
    (st.processes || []).forEach(function (p) { states[p.name] = p.state; if (!(p.group in states) || p.state === 'RUNNING') states[p.group] = p.state; });
    document.querySelectorAll('.card[data-program]').forEach(function (c) {
      var prog = c.dataset.program;
      if (!prog) return;
      var s = states[prog] || '';
      c.classList.toggle('dim', s !== '' && s !== 'RUNNING');
      var ps = c.querySelector('.pstate');
      if (ps) ps.textContent = s;
    });
  }

  var conn = document.getElementById('conn');
  function setConn(ok) { if (conn) { conn.className = 'conn ' + (ok ? 'up' : 'down'); conn.textContent = ok ? 'live' : 'reconnecting'; } }

  if (document.getElementById('startup')) {
    var es = new EventSource('/api/events');
    es.onopen = function () { setConn(true); };
    es.onerror = function () { setConn(false); };
    es.onmessage = function (e) { setConn(true); applyState(JSON.parse(e.data)); };
  }

  // Log viewer.
  var log = document.getElementById('log');
  if (log) {
    var maxLines = 5000, paused = false, queue = [], partial = null;
    var state = document.getElementById('logstate');
    var pause = document.getElementById('pause');
    function line(segs, cls) {
      var d = el('div', cls || 'line');
      (segs || []).forEach(function (s) { d.appendChild(el('span', s[1], s[0])); });
      return d;
    }
    function handle(m) {
      var nearEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 40;
      if (m.t === 'line') {
        var d = line(m.s);
        if (partial) { log.replaceChild(d, partial); partial = null; } else log.appendChild(d);
      } else if (m.t === 'partial') {
        var p = line(m.s, 'line partial');
        if (partial) log.replaceChild(p, partial); else log.appendChild(p);
        partial = p;
      } else if (m.t === 'truncated') {
        log.appendChild(el('div', 'line note', '— file truncated —'));
      } else if (m.t === 'skipped') {
        log.appendChild(el('div', 'line note', '— ' + m.n + ' lines skipped —'));
      } else if (m.t === 'error') {
        log.appendChild(el('div', 'line note', m.e));
      }
      while (log.childElementCount > maxLines) log.removeChild(log.firstElementChild);
      if (nearEnd) log.scrollTop = log.scrollHeight;
    }
    var src = new EventSource(log.dataset.src);
    src.onopen = function () { state.textContent = 'live'; };
    src.onerror = function () { state.textContent = 'reconnecting…'; };
    src.onmessage = function (e) {
      var ms = JSON.parse(e.data); // one frame: the messages of a tick
      if (!Array.isArray(ms)) ms = [ms];
      if (paused) { if (queue.length < 20000) Array.prototype.push.apply(queue, ms); return; }
      ms.forEach(handle);
    };
    pause.addEventListener('click', function () {
      paused = !paused;
      pause.textContent = paused ? 'Resume' : 'Pause';
      if (!paused) { queue.forEach(handle); queue = []; }
    });
  }
})();

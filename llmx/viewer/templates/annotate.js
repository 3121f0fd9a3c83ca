// The llmx annotate editor. Plain JS, no network beyond the llmx server on 127.0.0.1.
//
// Every change is one edit sent to the server, which validates it and writes the gold file
// before it answers. Edits go out one at a time, in order, from a queue: while the server is not
// reachable (stopped mid-edit) they wait in the queue, shown in the page as not saved, and are
// sent again every 2 s; the page shows them already (applied locally), so later edits build on
// them. An edit carries the incident as the page saw it, so the server can refuse a stale one
// (another tab changed the same thing) instead of overwriting it; the reason is shown and the
// typed value kept beside the field.
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("config").textContent);
  var FIELDS = CFG.fields, EVID = CFG.evidence;
  var S = {index: [], art: null, sel: -1, invalid: {}, queue: [], sending: false, banner: null, range: null};
  var ABSENT = "__absent__", NULL = "__null__";

  function el(tag, attrs, kids) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    (kids || []).forEach(function (kid) { if (kid) node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid); });
    return node;
  }
  function copy(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }
  function shown(v) { return v === undefined ? "not annotated" : v === null ? "null" : typeof v === "string" ? v : JSON.stringify(v); }

  // --- talking to the server ------------------------------------------------------------
  function api(method, url, body) {
    return fetch(url, {method: method, headers: {"Content-Type": "application/json"}, body: body ? JSON.stringify(body) : undefined})
      .then(function (r) { return r.json().then(function (j) { return {status: r.status, body: j}; }); });
  }
  function setState(kind, text) {
    var s = document.getElementById("state");
    s.className = kind; s.textContent = text;
  }
  function loadIndex() {
    return api("GET", "/api/articles").then(function (r) { S.index = r.body.articles; renderList(); });
  }
  function open(id, keepSel) {
    return api("GET", "/api/article/" + encodeURIComponent(id)).then(function (r) {
      if (r.status !== 200) { showBanner(r.body.error, true); return; }
      var same = S.art && S.art.id === id;
      S.art = r.body.article;
      replayQueue();
      if (!same || !keepSel) { S.invalid = {}; S.sel = firstPending(); }
      render();
    }, function () { setState("bad", "server not reachable"); });
  }
  function firstPending() {
    var list = S.art ? S.art.incidents : [];
    for (var i = 0; i < list.length; i++) if (list[i].data.pending) return i;
    return list.length ? 0 : -1;
  }

  // --- edits: queued, applied locally at once, sent in order -------------------------------
  function edit(op) {
    if (!S.art) return;
    S.queue.push({aid: S.art.id, op: op});
    local(S.art, op);
    // A typed value is already on screen: re-rendering now would take the focus from the field
    // the person is moving to. The server's answer re-renders (keeping the focus).
    if (op.op !== "set" || op.start !== undefined) render();
    pump();
  }
  function incidentOp(kind, i, extra) {
    var inc = S.art.incidents[i];
    var op = {op: kind, id: inc.id, index: i, before: copy(inc.data)};
    Object.keys(extra || {}).forEach(function (k) { op[k] = extra[k]; });
    return op;
  }
  function local(art, op) {  // what the server will do, so the page shows it before the answer
    var at = -1;
    art.incidents.forEach(function (inc, i) { if (inc.id === op.id) at = i; });
    if (op.op === "status") art.status = op.value;
    if (at < 0) return;
    var data = art.incidents[at].data;
    if (op.op === "accept") delete data.pending;
    else if (op.op === "reject") art.incidents.splice(at, 1);
    else if (op.op === "set" && op.start === undefined) {
      var v = op.value;
      if (op.unset || (op.field === "optional" && !v) || ((op.field === "event" || op.field === "note") && !(v && v.trim()))) delete data[op.field];
      else data[op.field] = (op.field === "event" || op.field === "note") ? v.trim() : v;
    }
  }
  function replayQueue() {
    S.queue.forEach(function (item) { if (S.art && item.aid === S.art.id) local(S.art, item.op); });
  }
  function pump() {
    if (S.sending || !S.queue.length) return;
    S.sending = true;
    setState("busy", "saving…");
    var item = S.queue[0];
    api("POST", "/api/article/" + encodeURIComponent(item.aid) + "/edit", item.op).then(function (r) {
      S.sending = false;
      S.queue.shift();
      var key = item.op.id + "/" + item.op.field;
      if (r.status === 200) {
        delete S.invalid[key];
        if (S.banner && S.banner.offline) S.banner = null;
        setState(S.queue.length ? "busy" : "saved", S.queue.length ? "saving…" : "saved " + new Date().toLocaleTimeString());
      } else {
        if (item.op.op === "set" && item.op.start === undefined) S.invalid[key] = {value: item.op.value, reason: r.body.error, conflict: r.status === 409};
        else showBanner(r.body.error, true);
        setState("bad", r.status === 409 ? "not saved: changed elsewhere" : "not saved: refused");
      }
      if (r.body.article && S.art && S.art.id === item.aid) {
        var n = S.art.incidents.length;
        S.art = r.body.article;
        replayQueue();
        if (item.op.op === "add" && S.art.incidents.length > n) S.sel = S.art.incidents.length - 1;
        if (item.op.op === "create") S.sel = firstPending();
      }
      if (r.body.index) { S.index = r.body.index; }
      render();
      pump();
    }, function () {
      S.sending = false;
      var n = S.queue.length;
      S.banner = {offline: true, text: "Not saved: the llmx server is not reachable (stopped?). " + n +
        " change(s) are kept in this page and sent when it is back; keep this tab open."};
      setState("bad", "not saved: server not reachable");
      render();
      setTimeout(pump, 2000);
    });
  }
  function showBanner(text, bad) { S.banner = {text: text, bad: bad}; render(); }

  // --- rendering ----------------------------------------------------------------------
  var ICON = {reviewed: "✓", draft: "✎", none: "○", invalid: "!"};
  function renderList() {
    var list = document.getElementById("list");
    list.textContent = "";
    var done = 0;
    S.index.forEach(function (row) {
      done += row.status === "reviewed";
      var cur = S.art && S.art.id === row.id;
      list.appendChild(el("a", {href: "#" + encodeURIComponent(row.id), "class": "s-" + row.status + (cur ? " cur" : ""),
        title: row.status + (row.pending ? ", " + row.pending + " pending" : ""), "data-id": row.id}, [
        el("i", {text: ICON[row.status] || "?"}), el("span", {text: row.id}),
        el("span", {"class": "n", text: row.pending ? row.pending + "/" + row.incidents : String(row.incidents)})]));
    });
    document.getElementById("progress").textContent = done + " of " + S.index.length + " files reviewed";
  }
  function focused() {  // the control being used, to give it back its focus after a render
    var a = document.activeElement, c = a && a.closest && a.closest(".card");
    if (!c || !a.matches("input, select, textarea")) return null;
    return {id: c.dataset.id, name: a.name || a.className.split(" ")[0], value: a.value, caret: a.selectionStart};
  }
  function refocus(f) {
    if (!f) return;
    var c = document.querySelector('.card[data-id="' + f.id + '"]');
    var a = c && (c.querySelector('[name="' + f.name + '"]') || c.querySelector("." + f.name));
    if (!a) return;
    a.value = f.value;  // what the person is typing and has not committed yet
    a.focus();
    try { if (f.caret !== null && f.caret !== undefined) a.setSelectionRange(f.caret, f.caret); } catch (e) {}
  }
  function render() {
    var keep = focused();
    renderAll();
    refocus(keep);
  }
  function renderAll() {
    renderList();
    var work = document.getElementById("work");
    var scroll = work.scrollTop;
    work.textContent = "";
    if (S.banner) work.appendChild(el("div", {id: "banner", "class": "flag" + (S.banner.bad || S.banner.offline ? " bad" : "")}, [el("p", {text: S.banner.text}),
      el("button", {text: "dismiss", onclick: function () { S.banner = null; render(); }})]));
    CFG.notes.forEach(function (n) { work.appendChild(el("p", {"class": "flag", text: n})); });
    var a = S.art;
    if (!a) { work.appendChild(el("p", {"class": "empty", text: "no article"})); return; }
    var pendingN = a.incidents.filter(function (i) { return i.data.pending; }).length;
    work.appendChild(el("div", {"class": "ah"}, [
      el("code", {text: a.id}),
      a.status ? el("span", {"class": "tag " + (a.status === "reviewed" ? "" : "changed"), id: "file-status", text: a.status}) : el("span", {"class": "tag", id: "file-status", text: "no gold file"}),
      el("span", {"class": "file", text: a.file + (a.drafted_from ? " · drafted from " + a.drafted_from : "")}),
      el("span", {"class": "sp"}),
      a.status === "draft" ? el("button", {"class": "pri", id: "mark-reviewed", text: "mark reviewed (r)", title: pendingN ? pendingN + " incident(s) still pending" : "", onclick: markReviewed}) : null,
      a.status === "reviewed" ? el("button", {id: "reopen", text: "back to draft", onclick: function () { edit({op: "status", value: "draft"}); }}) : null,
      el("button", {text: "‹ prev (p)", onclick: function () { step(-1); }}),
      el("button", {text: "next (n) ›", id: "next", onclick: function () { step(1); }})]));
    if (a.problem) work.appendChild(el("p", {"class": "flag bad", text: a.problem}));
    if (a.failed) work.appendChild(el("p", {"class": "flag", text: "the run failed on this article: " + a.failed}));
    var cols = el("div", {"class": "cols"});
    var text = el("p", {"class": "text", id: "text"});
    if (a.text_html !== null) text.innerHTML = a.text_html;  // escaped by the server (llmx.viewer.highlight)
    else text.appendChild(el("span", {"class": "na", text: "Article text not available (pass --articles to llmx annotate)."}));
    var side = el("div", {id: "side"});
    if (!a.exists) {
      side.appendChild(el("p", {text: "No gold file for this article yet."}));
      side.appendChild(el("button", {"class": "pri", id: "create-draft", text: "draft it from the run (" + a.run.length + " records)", onclick: function () { edit({op: "create", from: "run"}); }}));
      side.appendChild(el("span", {text: " "}));
      side.appendChild(el("button", {id: "create-empty", text: "start empty", onclick: function () { edit({op: "create", from: "empty"}); }}));
    } else if (!a.problem) {
      if (!a.incidents.length) side.appendChild(el("p", {"class": "empty", text: "No incidents: select a sentence in the article to add one, or mark the file reviewed if the article reports none."}));
      a.incidents.forEach(function (inc, i) { side.appendChild(card(inc, i)); });
    }
    if (a.run.length) {
      side.appendChild(el("h3", {text: "The run's records"}));
      a.run.forEach(function (r) { side.appendChild(runRecord(r)); });
    }
    cols.appendChild(text);
    cols.appendChild(side);
    work.appendChild(cols);
    work.scrollTop = scroll;
    var focus = side.querySelector('.card[data-i="' + S.sel + '"]');
    if (focus && !document.activeElement.closest(".card")) focus.classList.add("hl");
  }
  function card(inc, i) {
    var d = inc.data;
    var node = el("div", {"class": "card c" + (i % 8) + (d.pending ? " pending" : "") + (i === S.sel ? " hl" : ""), tabindex: "0", "data-i": String(i), "data-id": inc.id,
      onfocus: function () { S.sel = i; }});
    node.appendChild(el("div", {"class": "ch"}, [el("b", {text: "#" + (i + 1)}),
      d.pending ? el("span", {"class": "st spurious", text: "pending review"}) : el("span", {"class": "st matched", text: "accepted"}),
      inc.span ? null : el("span", {"class": "gr ungrounded", text: "evidence not in the article"}),
      el("span", {"class": "acts"}, [
        d.pending ? el("button", {"class": "pri accept", text: "✓ accept (a)", onclick: function () { accept(i); }}) : null,
        el("button", {"class": "bad reject", text: "✗ reject (x)", onclick: function () { edit(incidentOp("reject", i)); }})])]));
    var grid = el("div", {"class": "fields"});
    FIELDS.forEach(function (f) { if (!f.evidence) control(grid, inc, i, f); });
    node.appendChild(grid);
    if (EVID) node.appendChild(el("p", {"class": "quote", title: "select a sentence in the article, then 'set evidence'", text: "“" + shown(d[EVID]) + "”"}));
    var optional = el("input", {type: "checkbox", "class": "optional", checked: !!d.optional, onchange: function (e) { edit(incidentOp("set", i, {field: "optional", value: e.target.checked})); }});
    var event = el("input", {type: "text", "class": "event", list: "events", placeholder: "event name", value: d.event || "",
      onchange: function (e) { edit(incidentOp("set", i, {field: "event", value: e.target.value})); }});
    node.appendChild(el("div", {"class": "ann"}, [el("label", {title: "background an annotator may or may not include: neither rewarded nor penalised"}, [optional, " optional"]),
      el("label", {title: "a name shared by the reports of this attack in other articles"}, ["event ", event])]));
    var lists = el("datalist", {id: "events"});
    S.art.events.forEach(function (name) { lists.appendChild(el("option", {value: name})); });
    node.appendChild(lists);
    node.appendChild(el("textarea", {"class": "note-in", placeholder: "note (why it is annotated so)", rows: String(Math.min(4, 1 + Math.floor((d.note || "").length / 70))), text: d.note || "",
      onchange: function (e) { edit(incidentOp("set", i, {field: "note", value: e.target.value})); }}));
    ["optional", "event", "note"].forEach(function (name) { problem(node, inc.id + "/" + name); });
    return node;
  }
  function problem(parent, key) {
    var bad = S.invalid[key];
    if (bad) parent.appendChild(el("div", {"class": "err", text: "not saved (" + shown(bad.value) + "): " + bad.reason}));
  }
  function control(grid, inc, i, f) {
    var d = inc.data, key = inc.id + "/" + f.name, bad = S.invalid[key];
    var has = Object.prototype.hasOwnProperty.call(d, f.name), value = has ? d[f.name] : undefined;
    var input;
    function send(v, unset) { edit(incidentOp("set", i, unset ? {field: f.name, unset: true} : {field: f.name, value: v})); }
    if (f.kind === "enum" || f.kind === "bool") {
      input = el("select", {name: f.name, onchange: function (e) {
        var v = e.target.value;
        if (v === ABSENT) send(null, true); else send(v === NULL ? null : JSON.parse(v));
      }});
      if (!has) input.appendChild(el("option", {value: ABSENT, text: "— not annotated —"}));
      if (f.nullable) input.appendChild(el("option", {value: NULL, text: "null (not reported)"}));
      f.choices.forEach(function (c) { input.appendChild(el("option", {value: JSON.stringify(c), text: String(c)})); });
      input.value = !has ? ABSENT : value === null ? NULL : JSON.stringify(value);
    } else {
      var raw = bad ? (typeof bad.value === "string" ? bad.value : JSON.stringify(bad.value)) : (value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));
      input = el("input", {type: "text", name: f.name, value: raw, inputmode: f.kind === "int" || f.kind === "number" ? "numeric" : null,
        placeholder: has ? (f.nullable ? "null" : "") : "not annotated", onchange: function (e) {
          var t = e.target.value.trim();
          if (t === "") { send(f.nullable ? null : ""); return; }
          if (f.kind === "int" && /^-?\d+$/.test(t)) send(parseInt(t, 10));
          else if (f.kind === "number" && t !== "" && !isNaN(Number(t))) send(Number(t));
          else if (f.kind === "json") { try { send(JSON.parse(t)); } catch (err) { send(t); } }
          else send(t);
        }});
      if (value === null && !bad) input.classList.add("null");
    }
    if (bad) input.classList.add("bad");
    grid.appendChild(el("label", {"class": f.scored ? "" : "unscored", title: f.help + (f.scored ? "" : " (not scored)"), text: f.name}));
    grid.appendChild(input);
    if (bad) grid.appendChild(el("div", {"class": "err"}, ["not saved: " + bad.reason + " ",
      bad.conflict ? el("button", {"class": "mine", text: "save mine (" + shown(bad.value) + ")", onclick: function () { send(bad.value); }}) : null]));
  }
  function runRecord(r) {
    var rec = r.record, parts = [], sure = r.confidence || {};
    // the least sure values first, each with its confidence (a run made before confidences: schema order)
    var fields = FIELDS.slice().sort(function (a, b) { return (a.name in sure ? sure[a.name] : 2) - (b.name in sure ? sure[b.name] : 2); });
    fields.forEach(function (f) { if (!f.evidence && f.scored && rec[f.name] !== null && rec[f.name] !== undefined) parts.push(f.name + " " + shown(rec[f.name]) + (f.name in sure ? " (" + Math.round(sure[f.name] * 100) + "%)" : "")); });
    var node = el("div", {"class": "runrec"}, [
      el("div", {"class": "ch"}, [el("b", {text: "run #" + (r.index + 1)}),
        r.gold !== null ? el("span", {"class": "st matched", text: "= gold #" + (r.gold + 1)}) : el("span", {"class": "st spurious", text: "not in gold"}),
        r.grounding && r.grounding !== "exact" ? el("span", {"class": "gr " + r.grounding, text: r.grounding}) : null,
        S.art.exists && !S.art.problem && r.gold === null ? el("button", {"class": "add-run", text: "+ add to gold", onclick: function () { edit({op: "add", run_index: r.index}); }}) : null]),
      el("div", {text: parts.join(" · ")}),
      EVID ? el("div", {"class": "note", text: "“" + shown(rec[EVID]) + "”"}) : null]);
    if (r.verification.length) node.appendChild(el("ul", {"class": "ver"}, r.verification.map(function (v) { return el("li", {text: "⚠ " + v.field + " " + shown(v.value) + ": " + v.reason}); })));
    return node;
  }

  // --- actions ------------------------------------------------------------------------
  function accept(i) {
    if (i < 0 || !S.art.incidents[i]) return;
    if (S.art.incidents[i].data.pending) edit(incidentOp("accept", i));
    var next = firstPending();
    S.sel = S.art.incidents[next] && S.art.incidents[next].data.pending ? next : i;
    render();
  }
  function markReviewed() {
    var pending = S.art.incidents.filter(function (x) { return x.data.pending; }).length;
    if (pending) { showBanner(pending + " incident(s) still pending: accept (a) or reject (x) each, then mark the file reviewed.", true); return; }
    edit({op: "status", value: "reviewed"});
  }
  function step(delta, unreviewed) {
    var ids = S.index.map(function (r) { return r.id; });
    var at = S.art ? ids.indexOf(S.art.id) : -1;
    for (var k = 1; k <= ids.length; k++) {
      var j = (at + delta * k + ids.length * k) % ids.length;
      if (!unreviewed || S.index[j].status !== "reviewed") { location.hash = "#" + encodeURIComponent(ids[j]); return; }
    }
  }
  function selection() {  // the selected part of the article, as offsets into its text
    var sel = window.getSelection(), text = document.getElementById("text");
    if (!sel || sel.isCollapsed || !text || !sel.rangeCount) return null;
    var range = sel.getRangeAt(0);
    if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) return null;
    function offset(node, off) { var r = document.createRange(); r.setStart(text, 0); r.setEnd(node, off); return r.toString().length; }
    var start = offset(range.startContainer, range.startOffset), end = offset(range.endContainer, range.endOffset);
    return end > start ? {start: start, end: end, quote: range.toString(), rect: range.getBoundingClientRect()} : null;
  }
  function addSelection() {
    var s = S.range || selection();
    if (!s) { showBanner("Select the sentence that reports the attack in the article first.", true); return; }
    edit({op: "add", start: s.start, end: s.end, quote: s.quote});
    hideTool();
  }
  function evidenceFromSelection() {
    var s = S.range || selection();
    if (!s || S.sel < 0) return;
    edit(incidentOp("set", S.sel, {field: EVID, start: s.start, end: s.end, quote: s.quote}));
    hideTool();
  }
  function hideTool() { document.getElementById("tool").style.display = "none"; S.range = null; window.getSelection().removeAllRanges(); }
  document.addEventListener("mouseup", function (e) {
    if (e.target.closest && e.target.closest("#tool")) return;
    setTimeout(function () {
      var s = selection(), tool = document.getElementById("tool");
      S.range = s;
      if (!s || !S.art || !S.art.exists || S.art.problem) { tool.style.display = "none"; return; }
      tool.style.display = "flex";
      tool.style.left = Math.max(4, s.rect.left) + "px";
      tool.style.top = Math.max(4, s.rect.top - 40) + "px";
      var ev = document.getElementById("ev-sel");
      ev.hidden = !(EVID && S.sel >= 0 && S.art.incidents[S.sel]);
      ev.querySelector("span").textContent = "#" + (S.sel + 1);
    }, 0);
  });
  document.getElementById("add-sel").addEventListener("click", addSelection);
  document.getElementById("ev-sel").addEventListener("click", evidenceFromSelection);
  document.getElementById("help-btn").addEventListener("click", function () { var hp = document.getElementById("help"); hp.hidden = !hp.hidden; });
  document.getElementById("agree-btn").addEventListener("click", showAgreement);

  function showAgreement() {
    var box = document.getElementById("agree");
    box.hidden = false;
    box.textContent = "computing…";
    api("GET", "/api/agreement").then(function (r) {
      box.textContent = "";
      box.appendChild(el("button", {text: "close", style: "float:right", onclick: function () { box.hidden = true; }}));
      if (r.status !== 200) { box.appendChild(el("p", {"class": "flag bad", text: r.body.error})); return; }
      var g = r.body, inc = g.incidents;
      box.appendChild(el("h2", {text: "Agreement: " + g.b_name + " against " + g.a_name}));
      box.appendChild(el("p", {text: g.articles.length + " article(s) in both; incidents P " + fmt(inc.precision) + " R " + fmt(inc.recall) + " F1 " + fmt(inc.f1) +
        " (" + inc.tp + " matched, " + inc.fn + " only in " + g.a_name + ", " + inc.fp + " only in " + g.b_name + ")"}));
      var table = el("table", {id: "alpha"}, [el("tr", {}, [el("th", {text: "field"}), el("th", {text: "Krippendorff's α"}), el("th", {text: "agreed"}), el("th", {text: "units"})])]);
      Object.keys(g.fields).forEach(function (name) {
        var f = g.fields[name];
        table.appendChild(el("tr", {}, [el("td", {text: name}), el("td", {text: fmt(f.alpha)}), el("td", {text: f.percent === null ? "–" : Math.round(100 * f.percent) + "%"}), el("td", {text: String(f.units)})]));
      });
      box.appendChild(table);
      var mine = g.disagreements.filter(function (d) { return S.art && d.article_id === S.art.id; });
      box.appendChild(el("h3", {text: "Disagreements in " + (S.art ? S.art.id : "") + " (" + mine.length + " of " + g.disagreements.length + ")"}));
      box.appendChild(el("ul", {}, mine.map(function (d) {
        return el("li", {text: d.kind === "field" ? "gold #" + (d.a_index + 1) + " " + d.field + ": " + shown(d.a_value) + " ≠ " + shown(d.b_value)
          : (d.kind === "only_a" ? "only in " + g.a_name + ": #" + (d.a_index + 1) : "only in " + g.b_name + ": #" + (d.b_index + 1)) + " “" + (d.evidence || "") + "”"});
      })));
    });
  }
  function fmt(x) { return x === null || x === undefined ? "–" : x.toFixed(2); }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (t.closest && t.closest("input, select, textarea")) { if (e.key === "Escape") t.blur(); return; }
    var n = S.art ? S.art.incidents.length : 0;
    var keys = {
      "a": function () { accept(S.sel); },
      "x": function () { if (S.sel >= 0 && S.sel < n) edit(incidentOp("reject", S.sel)); S.sel = Math.min(S.sel, n - 2); },
      "j": function () { S.sel = Math.min(n - 1, S.sel + 1); },
      "k": function () { S.sel = Math.max(0, S.sel - 1); },
      "n": function () { step(1); }, "p": function () { step(-1); }, "N": function () { step(1, true); },
      "r": markReviewed, "+": addSelection,
      "?": function () { var hp = document.getElementById("help"); hp.hidden = !hp.hidden; },
      "Escape": function () { document.getElementById("help").hidden = true; document.getElementById("agree").hidden = true; hideTool(); }
    };
    if (!keys[e.key]) return;
    e.preventDefault();
    keys[e.key]();
    render();
    var focus = document.querySelector('.card[data-i="' + S.sel + '"]');
    if (focus && "ajkx".indexOf(e.key) >= 0) focus.scrollIntoView({block: "nearest"});
  });
  window.addEventListener("hashchange", function () { open(decodeURIComponent(location.hash.slice(1))); });
  window.addEventListener("focus", function () { if (!S.queue.length && S.art) { loadIndex(); open(S.art.id, true); } });
  window.addEventListener("beforeunload", function (e) { if (S.queue.length) { e.preventDefault(); e.returnValue = ""; } });
  loadIndex().then(function () {
    var want = decodeURIComponent(location.hash.slice(1));
    var ids = S.index.map(function (r) { return r.id; });
    open(ids.indexOf(want) >= 0 ? want : ids[0]).then(function () { document.body.dataset.ready = "1"; });
  });
  window.llmxAnnotate = S;  // for the browser tests: the queue and the article as the page holds them
})();

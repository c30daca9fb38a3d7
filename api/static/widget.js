/*
 * CasePilot chat widget. Embed with one tag:
 *
 *   <script src="https://casepilot.example/widget.js" data-api="https://casepilot.example"></script>
 *
 * Options (data- attributes on the script tag):
 *   data-api    base URL of the CasePilot API (default: where this script was loaded from)
 *   data-key    an API key for the registered tier (optional; without it the guest tier applies)
 *   data-open   "true" to open the panel when the page loads
 *   data-title  the panel's title (default "CasePilot")
 *
 * Answers stream from POST /v1/ask/stream (fetch + ReadableStream: EventSource cannot POST). Citation
 * markers [n] reveal their source; code chips open the code page (GET /v1/codes/{code}) inside the panel.
 * Plain JavaScript, no dependencies, no build step. Styles live in a shadow root, so the host page's CSS
 * and the widget's never mix.
 */
(function () {
  "use strict";
  if (window.CasePilotWidget) return;

  var script = document.currentScript || (function () {
    var tags = document.querySelectorAll("script[src*='widget.js']");
    return tags[tags.length - 1];
  })();
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var API = (data.api !== undefined && data.api !== "" ? data.api : scriptOrigin).replace(/\/+$/, "");
  var KEY = data.key || "";
  var TITLE = data.title || "CasePilot";
  var CODE_TOKEN = /\b(\d{4}[0-9FTUM]|[A-V]\d{4}|[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)\b/g;
  var SAMPLES = [
    "Can 22511 and 22514 be billed together?",
    "What is the MUE for J1885?",
    "When is vertebral augmentation covered?",
    "When should I use modifier XS instead of 59?"
  ];

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".cp{--ink:#14213d;--muted:#5c6b80;--line:#e3e8ef;--bg:#f6f8fb;--brand:#0f5c8c;--brand2:#1580c2;",
    "--ok:#1d7a46;--warn:#a15c00;--bad:#b42318;font:14px/1.5 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,",
    "'Helvetica Neue',Arial,sans-serif;color:var(--ink)}",
    ".launcher{position:fixed;right:24px;bottom:24px;z-index:2147483000;display:flex;align-items:center;gap:8px;",
    "border:0;border-radius:28px;padding:12px 18px;background:linear-gradient(135deg,var(--brand),var(--brand2));",
    "color:#fff;font-family:inherit;font-size:14px;font-weight:600;line-height:1;box-shadow:0 8px 24px rgba(15,92,140,.35);cursor:pointer}",
    ".launcher:hover{filter:brightness(1.07)}",
    ".panel{position:fixed;right:24px;bottom:24px;z-index:2147483001;width:min(430px,calc(100vw - 32px));",
    "height:min(680px,calc(100vh - 48px));display:none;flex-direction:column;background:#fff;border-radius:16px;",
    "box-shadow:0 18px 50px rgba(20,33,61,.28);overflow:hidden;border:1px solid var(--line)}",
    ".panel.open{display:flex}",
    ".head{display:flex;align-items:center;gap:10px;padding:14px 16px;color:#fff;",
    "background:linear-gradient(135deg,var(--brand),var(--brand2))}",
    ".logo{width:32px;height:32px;border-radius:9px;background:rgba(255,255,255,.18);display:grid;place-items:center;",
    "font-weight:700}",
    ".head h2{margin:0;font-size:15px;font-weight:650}.head p{margin:0;font-size:12px;opacity:.85}",
    ".head .sp{flex:1}",
    ".icon{border:0;background:rgba(255,255,255,.16);color:#fff;width:30px;height:30px;border-radius:8px;",
    "cursor:pointer;font-size:16px;line-height:1}",
    ".icon:hover{background:rgba(255,255,255,.28)}",
    ".body{flex:1;overflow:auto;padding:16px;background:var(--bg);scroll-behavior:smooth}",
    ".intro{color:var(--muted);font-size:13px;margin:2px 2px 12px}",
    ".samples{display:flex;flex-wrap:wrap;gap:6px}",
    ".sample{border:1px solid var(--line);background:#fff;border-radius:16px;padding:6px 10px;font:inherit;",
    "font-size:12.5px;color:var(--brand);cursor:pointer}.sample:hover{border-color:var(--brand2)}",
    ".msg{margin:0 0 14px;display:flex;flex-direction:column}",
    ".q{align-self:flex-end;max-width:85%;background:var(--brand);color:#fff;padding:8px 12px;",
    "border-radius:14px 14px 4px 14px;white-space:pre-wrap;word-wrap:break-word}",
    ".a{align-self:flex-start;max-width:100%;background:#fff;border:1px solid var(--line);padding:12px 14px;",
    "border-radius:14px 14px 14px 4px;box-shadow:0 1px 2px rgba(20,33,61,.05)}",
    ".a.abstain{border-color:#f2d6a2;background:#fffaf0}",
    ".a.err{border-color:#f3c5c0;background:#fff5f4;color:var(--bad)}",
    ".sent{margin:0 0 6px}.sent:last-child{margin-bottom:0}",
    ".mk{display:inline-block;min-width:20px;margin:0 1px;padding:0 5px;border:0;border-radius:6px;",
    "background:#e6f0f8;color:var(--brand);font-family:inherit;font-size:11px;font-weight:600;line-height:18px;cursor:pointer;",
    "vertical-align:1px}.mk:hover,.mk.on{background:var(--brand);color:#fff}",
    ".chip{display:inline-block;padding:0 6px;border:1px solid #bcd6ea;border-radius:6px;background:#f1f7fc;",
    "color:var(--brand);font:600 12.5px/19px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;cursor:pointer}",
    ".chip:hover{background:var(--brand);color:#fff;border-color:var(--brand)}",
    ".chip.deleted{border-color:#efc98f;background:#fff6e6;color:var(--warn)}",
    ".typing{display:inline-flex;gap:4px;padding:4px 0}.typing i{width:6px;height:6px;border-radius:50%;",
    "background:#9fb3c8;animation:b 1s infinite}.typing i:nth-child(2){animation-delay:.15s}",
    ".typing i:nth-child(3){animation-delay:.3s}@keyframes b{0%,80%,100%{opacity:.3}40%{opacity:1}}",
    ".codes{margin-top:10px;display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12px;color:var(--muted)}",
    ".srcs{margin-top:10px;border-top:1px dashed var(--line);padding-top:8px}",
    ".srcs h4{margin:0 0 6px;font-size:11px;letter-spacing:.06em;text-transform:uppercase;color:var(--muted)}",
    ".src{border:1px solid var(--line);border-radius:10px;margin:0 0 6px;background:#fbfcfe;transition:box-shadow .3s}",
    ".src.flash{box-shadow:0 0 0 3px rgba(21,128,194,.35)}",
    ".src>button{all:unset;display:flex;gap:8px;width:100%;padding:7px 10px;cursor:pointer;box-sizing:border-box}",
    ".src .n{flex:none;font-family:inherit;font-size:11px;font-weight:600;line-height:18px;color:#fff;background:var(--brand);",
    "border-radius:6px;padding:0 6px;height:18px}",
    ".src .t{font-size:12.5px;font-weight:600;line-height:18px}",
    ".src .m{font-size:11.5px;color:var(--muted)}",
    ".src .d{display:none;padding:0 10px 10px 38px;font-size:12.5px}",
    ".src.open .d{display:block}",
    ".snip{margin:4px 0 6px;padding:6px 8px;border-left:3px solid #bcd6ea;background:#fff;color:#33415c;",
    "white-space:pre-wrap;max-height:160px;overflow:auto}",
    ".d a{color:var(--brand2);font-weight:600;text-decoration:none}.d a:hover{text-decoration:underline}",
    ".foot{display:flex;gap:8px;padding:12px;border-top:1px solid var(--line);background:#fff}",
    "textarea{flex:1;resize:none;height:44px;max-height:120px;padding:11px 12px;border:1px solid var(--line);",
    "border-radius:10px;font:inherit;color:inherit;outline:none}textarea:focus{border-color:var(--brand2);",
    "box-shadow:0 0 0 3px rgba(21,128,194,.15)}",
    ".send{border:0;border-radius:10px;padding:0 16px;background:var(--brand);color:#fff;font-size:14px;font-weight:600;",
    "font-family:inherit;cursor:pointer}.send:disabled{opacity:.5;cursor:default}",
    ".note{font-size:11px;color:var(--muted);text-align:center;padding:0 12px 8px;background:#fff}",
    ".data{margin:12px 2px 0;font-size:12px;color:var(--muted)}.data strong{color:var(--ink);font-weight:600}",
    ".warn{margin:12px 2px 0;padding:8px 10px;border:1px solid #f2d6a2;border-radius:10px;background:#fffaf0;",
    "color:var(--warn);font-size:12.5px}.warn strong{font-weight:650}",
    ".warn code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}",
    ".page{display:none;position:absolute;inset:0;background:var(--bg);overflow:auto;padding:0 0 16px}",
    ".page.open{display:block}.bodywrap{position:relative;flex:1;display:flex;flex-direction:column;min-height:0}",
    ".pbar{position:sticky;top:0;display:flex;align-items:center;gap:8px;padding:10px 16px;background:#fff;",
    "border-bottom:1px solid var(--line);z-index:1}",
    ".back{border:1px solid var(--line);background:#fff;border-radius:8px;padding:4px 10px;font:inherit;",
    "font-size:12.5px;cursor:pointer;color:var(--brand)}",
    ".card{margin:12px 16px 0;background:#fff;border:1px solid var(--line);border-radius:12px;padding:12px 14px}",
    ".card h3{margin:0 0 6px;font-size:12px;letter-spacing:.05em;text-transform:uppercase;color:var(--muted)}",
    ".big{font:700 22px/1.2 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}",
    ".badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:11.5px;font-weight:600;",
    "margin-left:6px;vertical-align:3px}.b-valid{background:#e3f4ea;color:var(--ok)}",
    ".b-deleted{background:#fff0d9;color:var(--warn)}.b-unknown{background:#fde8e6;color:var(--bad)}",
    "table{width:100%;border-collapse:collapse;font-size:12.5px}td,th{text-align:left;padding:4px 6px;",
    "border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600}",
    ".card.m{font-size:12.5px;color:var(--muted);background:#fbfcfe}",
    ".cite{font-size:11.5px;color:var(--muted);margin-top:4px}.cite a{color:var(--brand2)}",
    ".pager{display:flex;justify-content:space-between;align-items:center;margin-top:6px;font-size:12px;",
    "color:var(--muted)}.pager button{border:1px solid var(--line);background:#fff;border-radius:6px;",
    "padding:2px 8px;cursor:pointer;font:inherit}"
  ].join("");

  // A citation URL becomes a link only when it is absolute http(s): never javascript:, data: or the like
  // (the server drops those too; this guards a widget pointed at another server).
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      var parsed = new URL(url);
      return (parsed.protocol === "https:" || parsed.protocol === "http:") ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c != null) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function headers(extra) {
    var h = extra || {};
    if (KEY) h["X-API-Key"] = KEY;
    return h;
  }

  function errorText(status, body) {
    var text = (body && body.error) || ("request failed (HTTP " + status + ")");
    if (status === 429 && body && body.retry_after) {
      text += " Try again in about " + Math.ceil(body.retry_after / 3600) + " h.";
    }
    return text;
  }

  /* ---------------------------------------------------------------- server-sent events over fetch */

  function parseEvents(buffer, onEvent) {
    var parts = buffer.split(/\r?\n\r?\n/);
    var rest = parts.pop();
    parts.forEach(function (block) {
      var event = "message", lines = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) lines.push(line.slice(5).replace(/^ /, ""));
      });
      if (!lines.length) return;  // a comment or ping
      var payload;
      try { payload = JSON.parse(lines.join("\n")); } catch (e) { payload = lines.join("\n"); }
      onEvent(event, payload);
    });
    return rest;
  }

  function stream(question, onEvent) {
    return fetch(API + "/v1/ask/stream", {
      method: "POST",
      headers: headers({"Content-Type": "application/json", "Accept": "text/event-stream"}),
      body: JSON.stringify({question: question})
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(errorText(response.status, body));
        });
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { parseEvents(buffer + "\n\n", onEvent); return; }
          buffer = parseEvents(buffer + decoder.decode(chunk.value, {stream: true}), onEvent);
          return pump();
        });
      }
      return pump();
    });
  }

  // GET /readyz: the releases the service answers from and the datasets it lacks (status "starting" while it
  // loads). No API key header: a plain GET needs no CORS preflight.
  function readiness() {
    return fetch(API + "/readyz").then(function (response) {
      return response.json();
    });
  }

  /* ---------------------------------------------------------------- the widget */

  function Widget() {
    var host = el("div", {id: "casepilot-widget"});
    document.body.appendChild(host);
    var root = host.attachShadow({mode: "open"});
    root.appendChild(el("style", {text: CSS}));
    var wrap = el("div", {class: "cp"});
    root.appendChild(wrap);
    this.root = root;

    this.launcher = el("button", {class: "launcher", type: "button", "aria-label": "Open CasePilot",
      onclick: this.open.bind(this)}, [el("span", {text: "\u2695"}), "Ask CasePilot"]);
    this.input = el("textarea", {placeholder: "Ask a coding question\u2026",
      "aria-label": "Your coding question", rows: "1"});
    this.sendButton = el("button", {class: "send", type: "button", text: "Ask", onclick: this.submit.bind(this)});
    this.messages = el("div", {class: "body", role: "log", "aria-live": "polite"});
    this.page = el("div", {class: "page", "aria-label": "Code page"});
    this.panel = el("section", {class: "panel", role: "dialog", "aria-label": TITLE}, [
      el("header", {class: "head"}, [
        el("div", {class: "logo", text: "CP"}),
        el("div", {}, [el("h2", {text: TITLE}), el("p", {text: "Coding answers with a source for every fact"})]),
        el("div", {class: "sp"}),
        el("button", {class: "icon", type: "button", "aria-label": "Close", text: "\u00d7",
          onclick: this.close.bind(this)})
      ]),
      el("div", {class: "bodywrap"}, [this.messages, this.page]),
      el("div", {class: "foot"}, [this.input, this.sendButton]),
      el("div", {class: "note", text: "Answers cite CMS/CDC tables and CasePilot guidance. Verify before billing."})
    ]);
    wrap.appendChild(this.launcher);
    wrap.appendChild(this.panel);

    var self = this;
    this.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); self.submit(); }
    });
    this.intro();
    this.loadStatus(60);
    if (data.open === "true") this.open();
  }

  // What the service has: a warning naming every dataset not loaded (questions that need one cannot be
  // answered from it), then the loaded releases. Asked again every 5 s while the service is starting.
  Widget.prototype.loadStatus = function (tries) {
    var self = this;
    readiness().then(function (body) {
      if (body.status === "starting" && tries > 0) {
        self.renderStatus({status: "starting"});
        setTimeout(function () { self.loadStatus(tries - 1); }, 5000);
      } else {
        self.renderStatus(body);
      }
    }).catch(function () { self.status.textContent = ""; });  // an older server or a blocked request
  };

  Widget.prototype.renderStatus = function (body) {
    var box = this.status;
    box.textContent = "";
    if (body.status === "starting") {
      box.appendChild(el("div", {class: "data", text: "The service is still loading its data\u2026"}));
      return;
    }
    if (body.status !== "ok") {
      box.appendChild(el("div", {class: "warn", role: "status", text: "The service could not load its data: " +
        (body.detail || "see its log") + "."}));
      return;
    }
    var releases = body.releases || {}, missing = body.missing || {};
    var absent = Object.keys(missing);
    if (absent.length) {
      box.appendChild(el("div", {class: "warn", role: "status"}, [
        el("strong", {text: "Not loaded: "}),
        absent.map(function (name) { return missing[name]; }).join("; ") + ". Answers cannot use these until " +
          "they are loaded: ", el("code", {text: "casepilot-ingest fetch"}), "."
      ]));
    }
    var names = Object.keys(releases);
    box.appendChild(el("div", {class: "data"}, [
      el("strong", {text: "Loaded releases: "}),
      names.length ? names.map(function (name) { return name + " " + releases[name]; }).join(", ") : "none"
    ]));
  };

  Widget.prototype.intro = function () {
    var self = this;
    this.status = el("div", {class: "status"});
    this.messages.appendChild(el("div", {class: "intro"}, [
      el("p", {text: "Ask a coding question. Every sentence comes with its source; codes are checked against " +
        "the reference data."}),
      el("div", {class: "samples"}, SAMPLES.map(function (q) {
        return el("button", {class: "sample", type: "button", text: q, onclick: function () { self.ask(q); }});
      })),
      this.status
    ]));
  };

  Widget.prototype.open = function () {
    this.panel.classList.add("open");
    this.launcher.style.display = "none";
    this.input.focus();
  };

  Widget.prototype.close = function () {
    this.panel.classList.remove("open");
    this.launcher.style.display = "";
  };

  Widget.prototype.submit = function () {
    var q = this.input.value.trim();
    if (!q || this.busy) return;
    this.input.value = "";
    this.ask(q);
  };

  Widget.prototype.scroll = function () { this.messages.scrollTop = this.messages.scrollHeight; };

  Widget.prototype.ask = function (question) {
    var self = this;
    this.closePage();
    this.busy = true;
    this.sendButton.disabled = true;
    var msg = el("div", {class: "msg"});
    msg.appendChild(el("div", {class: "q", text: question}));
    var answer = el("div", {class: "a", "data-state": "streaming"});
    var text = el("div", {class: "text"});
    var typing = el("div", {class: "typing"}, [el("i"), el("i"), el("i")]);
    answer.appendChild(text);
    answer.appendChild(typing);
    msg.appendChild(answer);
    this.messages.appendChild(msg);
    this.scroll();

    var state = {sentences: [], tokens: "", citations: [], codes: {}, answer: answer, text: text};
    stream(question, function (event, payload) {
      if (event === "sentence") {
        state.sentences.push(payload);
        text.appendChild(self.renderSentence(payload, state));
      } else if (event === "token") {
        state.tokens += payload.text || "";
        text.textContent = state.tokens;
      } else if (event === "citations") {
        state.citations = payload.citations || [];
        self.renderSources(state);
      } else if (event === "done") {
        (payload.codes || []).forEach(function (c) { state.codes[c.code] = c; });
        if (payload.sentences) state.sentences = payload.sentences;
        if (state.sentences.length) {
          text.textContent = "";
          state.sentences.forEach(function (s) { text.appendChild(self.renderSentence(s, state)); });
        }
        if (payload.abstained) answer.classList.add("abstain");
        if (payload.alternatives && payload.alternatives.length) {
          // Codes to compare with the one the answer leads with: the code and what tells it apart, as text.
          var compared = payload.alternatives.map(function (a) {
            return a.code + " (" + a.differs + ") [" + a.citation + "]";
          }).join("; ");
          text.appendChild(el("p", {class: "compare", text: "Compare: " + compared + "."}));
        }
        if (payload.see_also && payload.see_also.length) {
          // Related sections are named, not pasted: titles only, as text (URLs were filtered to http(s) upstream).
          var titles = payload.see_also.map(function (item) { return item.title; }).join("; ");
          text.appendChild(el("p", {class: "see-also", text: "See also: " + titles + "."}));
        }
        self.renderCodes(state);
      } else if (event === "error") {
        answer.classList.add("err");
        text.appendChild(el("p", {class: "sent", text: payload.error || "The answer could not be completed."}));
      }
      self.scroll();
    }).catch(function (error) {
      answer.classList.add("err");
      text.appendChild(el("p", {class: "sent", text: error.message || String(error)}));
    }).then(function () {
      typing.remove();
      answer.setAttribute("data-state", "done");
      self.busy = false;
      self.sendButton.disabled = false;
      self.scroll();
    });
  };

  /* A sentence: its text with codes as chips (once known to be valid), then its citation markers. */
  Widget.prototype.renderSentence = function (sentence, state) {
    var self = this;
    var p = el("p", {class: "sent"});
    var source = sentence.text || "", last = 0, match;
    CODE_TOKEN.lastIndex = 0;
    while ((match = CODE_TOKEN.exec(source))) {
      var code = match[1], check = state.codes[code];
      if (!check || check.status === "unknown") continue;
      p.appendChild(document.createTextNode(source.slice(last, match.index)));
      p.appendChild(self.chip(code, check));
      last = match.index + code.length;
    }
    p.appendChild(document.createTextNode(source.slice(last)));
    (sentence.citations || []).forEach(function (n) {
      p.appendChild(document.createTextNode(" "));
      p.appendChild(el("button", {class: "mk", type: "button", "data-marker": String(n), text: "[" + n + "]",
        title: "Show source " + n, onclick: function () { self.reveal(state, n); }}));
    });
    return p;
  };

  Widget.prototype.chip = function (code, check) {
    var self = this;
    return el("button", {class: "chip" + (check.status === "deleted" ? " deleted" : ""), type: "button",
      "data-code": code, text: code, title: (check.description || "Open the code page").slice(0, 140),
      onclick: function () { self.openCode(code); }});
  };

  Widget.prototype.renderSources = function (state) {
    if (!state.citations.length) return;
    var box = el("div", {class: "srcs"}, [el("h4", {text: "Sources"})]);
    state.sourceCards = {};
    state.citations.forEach(function (c) {
      var meta = [c.version, c.locator].filter(Boolean).join(" \u00b7 ");
      var detail = el("div", {class: "d"}, [
        c.snippet ? el("div", {class: "snip", text: c.snippet.replace(/\t/g, "  \u00b7  ")}) : null,
        safeUrl(c.url) ? el("a", {href: safeUrl(c.url), target: "_blank", rel: "noopener noreferrer",
          text: "Open the official source \u2197"}) : null
      ]);
      var card = el("div", {class: "src", "data-marker": String(c.marker)});
      card.appendChild(el("button", {type: "button", "aria-expanded": "false", onclick: function () {
        card.classList.toggle("open");
        this.setAttribute("aria-expanded", card.classList.contains("open") ? "true" : "false");
      }}, [el("span", {class: "n", text: String(c.marker)}),
           el("span", {}, [el("div", {class: "t", text: c.title}), el("div", {class: "m", text: meta})])]));
      card.appendChild(detail);
      box.appendChild(card);
      state.sourceCards[c.marker] = card;
    });
    state.answer.appendChild(box);
  };

  Widget.prototype.reveal = function (state, marker) {
    var card = state.sourceCards && state.sourceCards[marker];
    if (!card) return;
    card.classList.add("open", "flash");
    card.querySelector("button").setAttribute("aria-expanded", "true");
    state.answer.querySelectorAll(".mk").forEach(function (m) {
      m.classList.toggle("on", m.getAttribute("data-marker") === String(marker));
    });
    card.scrollIntoView({block: "nearest", behavior: "smooth"});
    setTimeout(function () { card.classList.remove("flash"); }, 1200);
  };

  Widget.prototype.renderCodes = function (state) {
    var self = this;
    var codes = Object.keys(state.codes).filter(function (c) { return state.codes[c].status !== "unknown"; });
    if (!codes.length) return;
    var row = el("div", {class: "codes"}, ["Codes:"]);
    codes.forEach(function (c) { row.appendChild(self.chip(c, state.codes[c])); });
    var sources = state.answer.querySelector(".srcs");
    state.answer.insertBefore(row, sources);
  };

  /* ---------------------------------------------------------------- the code page, inside the panel */

  Widget.prototype.closePage = function () { this.page.classList.remove("open"); };

  Widget.prototype.openCode = function (code, pageNumber) {
    var self = this;
    pageNumber = pageNumber || 1;
    this.page.textContent = "";
    this.page.appendChild(this.pageBar(code));
    this.page.appendChild(el("div", {class: "card"}, [el("div", {class: "typing"}, [el("i"), el("i"), el("i")])]));
    this.page.classList.add("open");
    this.page.scrollTop = 0;
    fetch(API + "/v1/codes/" + encodeURIComponent(code) + "?page_size=8&page=" + pageNumber, {headers: headers()})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); })
      .then(function (res) {
        self.page.textContent = "";
        self.page.appendChild(self.pageBar(code));
        if (res.status !== 200) {
          var sugg = (res.body.suggestions || []).map(function (s) {
            return self.chip(s, {status: "valid"});
          });
          self.page.appendChild(el("div", {class: "card"}, [el("p", {text: errorText(res.status, res.body)}),
            sugg.length ? el("div", {class: "codes"}, ["Did you mean:"].concat(sugg)) : null]));
          return;
        }
        self.renderCodePage(res.body, pageNumber);
      })
      .catch(function (error) {
        self.page.appendChild(el("div", {class: "card"}, [el("p", {text: String(error)})]));
      });
  };

  Widget.prototype.pageBar = function (code) {
    return el("div", {class: "pbar"}, [
      el("button", {class: "back", type: "button", text: "\u2190 Back to the answer",
        onclick: this.closePage.bind(this)}),
      el("strong", {text: "Code page \u00b7 " + code})
    ]);
  };

  function citeLine(c) {
    if (!c) return null;
    return el("div", {class: "cite"}, [
      "Source: " + c.title + ", " + c.version + ", " + c.locator + " ",
      safeUrl(c.url) ? el("a", {href: safeUrl(c.url), target: "_blank", rel: "noopener noreferrer", text: "\u2197"})
        : null
    ]);
  }

  Widget.prototype.renderCodePage = function (p, pageNumber) {
    var self = this, page = this.page;
    page.appendChild(el("div", {class: "card"}, [
      el("div", {}, [el("span", {class: "big", text: p.code}),
        el("span", {class: "badge b-" + p.status, text: p.status})]),
      el("div", {class: "m", text: [p.code_set, p.family, p.code_range].filter(Boolean).join(" \u00b7 ")}),
      p.termination_date ? el("div", {class: "m", text: "Terminated " + p.termination_date}) : null
    ]));
    if (p.descriptors.length) {
      var d = el("div", {class: "card"}, [el("h3", {text: "Descriptors"})]);
      p.descriptors.forEach(function (x) {
        d.appendChild(el("p", {}, [el("strong", {text: x.kind === "official" ? "Official: " : "Plain language: "}),
          x.text]));
        d.appendChild(citeLine(x.citation));
      });
      page.appendChild(d);
    }
    (p.notes || []).forEach(function (n) { page.appendChild(el("div", {class: "card m", text: n})); });
    if (p.mue.length) {
      var m = el("div", {class: "card"}, [el("h3", {text: "Medically unlikely edits"})]);
      p.mue.forEach(function (x, i) {
        m.appendChild(el("p", {}, [el("strong", {text: x.value + " unit" + (x.value === 1 ? "" : "s")}),
          " \u2014 MAI " + x.adjudication_indicator + ": " + x.indicator_meaning]));
        m.appendChild(citeLine(p.mue_citations[i]));
      });
      page.appendChild(m);
    }
    [p.ptp_column1, p.ptp_column2].forEach(function (t) {
      var title = t.column === 1 ? "PTP edits: " + p.code + " in column 1 (other code not paid)"
                                 : "PTP edits: " + p.code + " in column 2 (this code not paid)";
      var card = el("div", {class: "card"}, [el("h3", {text: title + " \u00b7 " + t.total})]);
      if (t.edits.length) {
        var table = el("table", {}, [el("tr", {}, [el("th", {text: "Column 1"}), el("th", {text: "Column 2"}),
          el("th", {text: "Mod. ind."}), el("th", {text: "Row"})])]);
        t.edits.forEach(function (e) {
          table.appendChild(el("tr", {}, [el("td", {text: e.column1}), el("td", {text: e.column2}),
            el("td", {text: String(e.modifier_indicator)}), el("td", {text: String(e.row)})]));
        });
        card.appendChild(table);
        card.appendChild(el("div", {class: "pager"}, [
          pageNumber > 1 ? el("button", {type: "button", text: "\u2190 Prev",
            onclick: function () { self.openCode(p.code, pageNumber - 1); }}) : el("span"),
          el("span", {text: "page " + t.page + " of " + Math.max(1, t.pages)}),
          pageNumber < t.pages ? el("button", {type: "button", text: "Next \u2192",
            onclick: function () { self.openCode(p.code, pageNumber + 1); }}) : el("span")
        ]));
        card.appendChild(citeLine(t.citation));
      } else {
        card.appendChild(el("p", {class: "m", text: t.total ? "No edits on this page." : "No edits."}));
      }
      page.appendChild(card);
    });
    if (p.modifiers.length) {
      var mods = el("div", {class: "card"}, [el("h3", {text: "Relevant modifiers"})]);
      p.modifiers.forEach(function (x) {
        mods.appendChild(el("p", {}, [el("strong", {text: x.modifier + " \u2014 " + x.title + ". "}), x.why]));
      });
      page.appendChild(mods);
    }
    if (p.passages.length) {
      var ps = el("div", {class: "card"}, [el("h3", {text: "Coverage and guidelines"})]);
      p.passages.forEach(function (c) {
        ps.appendChild(el("p", {}, [el("strong", {text: c.title}), el("br"),
          el("span", {class: "m", text: (c.snippet || "").slice(0, 260) + "\u2026"})]));
        ps.appendChild(citeLine(c));
      });
      page.appendChild(ps);
    }
  };

  function start() { window.CasePilotWidget = new Widget(); }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();

/* Read the page aloud on request (朗读本页), with the browser's own speech synthesis.
   Progressive enhancement: the button stays hidden where the browser cannot speak. It reads the main
   content in the language of each part (lang attributes; Chinese with a zh-CN voice), in short
   pieces, since some engines stop a long utterance after a few seconds. Pressed again, it stops. */
(function () {
  "use strict";
  var button = document.getElementById("read-aloud");
  if (!button || !("speechSynthesis" in window) || typeof window.SpeechSynthesisUtterance !== "function") {
    return;
  }
  var synth = window.speechSynthesis;
  var startLabel = button.textContent.trim();
  var stopLabel = button.getAttribute("data-stop-label") || startLabel;
  var SKIP = { SCRIPT: 1, STYLE: 1, NOSCRIPT: 1, TEMPLATE: 1, SELECT: 1, OPTION: 1, TEXTAREA: 1 };
  var BLOCK = /^(ADDRESS|ARTICLE|ASIDE|BLOCKQUOTE|DD|DIV|DL|DT|FIELDSET|FIGCAPTION|FIGURE|FOOTER|FORM|H[1-6]|HEADER|HR|LI|MAIN|NAV|OL|P|PRE|SECTION|TABLE|TBODY|TD|TH|THEAD|TR|UL|LABEL|LEGEND|SUMMARY|DETAILS|BUTTON|BR)$/;

  function voiceLang(lang) {
    lang = (lang || "").toLowerCase();
    if (lang.indexOf("zh") === 0) return "zh-CN";
    if (lang.indexOf("en") === 0) return "en-GB";
    return lang || "zh-CN";
  }

  function hidden(el) {
    if (el.hidden || el.getAttribute("aria-hidden") === "true") return true;
    var style = window.getComputedStyle(el);
    return style.display === "none" || style.visibility === "hidden";
  }

  /* Pieces of text, each with its language, in reading order; a block element ends a piece. */
  function pieces(root) {
    var out = [];
    var current = null;
    function flush() {
      if (current && current.text.replace(/\s+/g, "")) out.push(current);
      current = null;
    }
    function add(text, lang) {
      if (current && current.lang !== lang) flush();
      if (!current) current = { text: "", lang: lang };
      current.text += text;
    }
    function walk(node, lang) {
      if (node.nodeType === 3) {
        add(node.nodeValue.replace(/\s+/g, " "), lang);
        return;
      }
      if (node.nodeType !== 1 || SKIP[node.tagName] || hidden(node)) return;
      var own = node.getAttribute("lang");
      var nodeLang = own ? voiceLang(own) : lang;
      var block = BLOCK.test(node.tagName);
      if (block) flush();
      if (node.tagName === "INPUT") {
        var value = /^(hidden|password|checkbox|radio|file)$/.test(node.type) ? "" : node.value || "";
        if (value) add(" " + value + " ", nodeLang);
        return;
      }
      if (node.tagName === "IMG") {
        if (node.alt) add(" " + node.alt + " ", nodeLang);
        return;
      }
      for (var child = node.firstChild; child; child = child.nextSibling) walk(child, nodeLang);
      if (block) flush();
    }
    walk(root, voiceLang(document.documentElement.lang));
    flush();
    return out;
  }

  /* Split at sentence ends (Chinese marks anywhere, Western ones before a space: not "e.g."),
     keeping each piece short. */
  function chunks(text) {
    var parts = text.split(/(?<=[。！？；])|(?<=[.!?;])\s+/);
    var out = [];
    parts.forEach(function (part) {
      part = part.trim();
      while (part.length > 180) {
        out.push(part.slice(0, 180));
        part = part.slice(180);
      }
      if (part) out.push(part);
    });
    return out;
  }

  /* Chinese left in a page of another language (a name not yet translated) gets a Chinese voice
     even where it carries no lang attribute. */
  var CJK = /[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+/g;
  function byScript(text, lang) {
    if (lang === "zh-CN") return [{ text: text, lang: lang }];
    var out = [];
    var last = 0;
    text.replace(CJK, function (run, offset) {
      if (offset > last) out.push({ text: text.slice(last, offset), lang: lang });
      out.push({ text: run, lang: "zh-CN" });
      last = offset + run.length;
      return run;
    });
    if (last < text.length) out.push({ text: text.slice(last), lang: lang });
    return out.filter(function (part) { return /[0-9A-Za-z\u3400-\u9fff]/.test(part.text); });
  }

  function pickVoice(lang) {
    var voices = synth.getVoices ? synth.getVoices() : [];
    var prefix = lang.slice(0, 2).toLowerCase();
    var exact = null;
    var close = null;
    voices.forEach(function (voice) {
      var voiceLangCode = (voice.lang || "").replace("_", "-").toLowerCase();
      if (!exact && voiceLangCode === lang.toLowerCase()) exact = voice;
      if (!close && voiceLangCode.indexOf(prefix) === 0) close = voice;
    });
    return exact || close;
  }

  function setSpeaking(on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? stopLabel : startLabel;
  }

  function stop() {
    synth.cancel();
    setSpeaking(false);
  }

  function read() {
    var main = document.getElementById("main") || document.body;
    var queue = [];
    pieces(main).forEach(function (piece) {
      byScript(piece.text, piece.lang).forEach(function (part) {
        chunks(part.text).forEach(function (text) {
          queue.push({ text: text, lang: part.lang });
        });
      });
    });
    if (!queue.length) return;
    synth.cancel();
    setSpeaking(true);
    queue.forEach(function (item, index) {
      var utterance = new window.SpeechSynthesisUtterance(item.text);
      utterance.lang = item.lang;
      var voice = pickVoice(item.lang);
      if (voice) utterance.voice = voice;
      utterance.rate = 0.9; /* a little slower than the default: easier to follow */
      if (index === queue.length - 1) {
        utterance.onend = function () { setSpeaking(false); };
      }
      utterance.onerror = function () { setSpeaking(false); };
      synth.speak(utterance);
    });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    if (button.getAttribute("aria-pressed") === "true") stop();
    else read();
  });
  window.addEventListener("pagehide", function () { synth.cancel(); });
})();

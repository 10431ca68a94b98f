/* Nurture page snippet (/t.js): sends and stores nothing until nurture.consent([...]) names the
   data-purpose; never under Global Privacy Control or Do Not Track. See tracking/snippet.py. */
(function (w, d) {
  "use strict";
  var me = d.currentScript, stub = w.nurture, KEY = "nurture_", VERSION = "1";
  if (!me || (stub && stub.loaded)) return;
  var base = me.src.replace(/\/t\.js(\?.*)?$/, ""), writeKey = me.getAttribute("data-write-key") || "",
    purpose = me.getAttribute("data-purpose") || "profiling", auto = me.getAttribute("data-page") !== "off";
  var store = {
    get: function (k) { try { return w.localStorage.getItem(KEY + k); } catch (e) { return null; } },
    set: function (k, v) { try { w.localStorage.setItem(KEY + k, v); } catch (e) { } },
    del: function (k) { try { w.localStorage.removeItem(KEY + k); } catch (e) { } }
  };
  function optedOut() {
    var n = w.navigator || {};
    return n.globalPrivacyControl === true || n.doNotTrack === "1" || n.doNotTrack === "yes" ||
      w.doNotTrack === "1" || n.msDoNotTrack === "1";
  }
  function allowed() { return !optedOut() && (store.get("consent") || "").split(" ").indexOf(purpose) >= 0; }
  function uuid() {
    if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
    var b = new Uint8Array(16), h = "", i;
    w.crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1) + ([3, 5, 7, 9].indexOf(i) >= 0 ? "-" : "");
    return h;
  }
  function anonymousId() {
    var id = store.get("aid");
    if (!id) { id = uuid(); store.set("aid", id); }
    return id;
  }
  function page() {
    var l = w.location;
    return { url: l.href, path: l.pathname, search: l.search, title: d.title, referrer: d.referrer };
  }
  function campaign() {
    var out = {}, found = false, q = new URLSearchParams(w.location.search);
    ["source", "medium", "campaign", "term", "content"].forEach(function (k) {
      var v = q.get("utm_" + k);
      if (v) { out[k === "campaign" ? "name" : k] = v; found = true; }
    });
    return found ? out : undefined;
  }
  function send(type, fields) {
    if (!allowed()) return Promise.resolve(false);
    var now = new Date().toISOString(), tz;
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { tz = undefined; }
    var msg = {
      type: type, anonymousId: anonymousId(), messageId: uuid(), timestamp: now, sentAt: now, writeKey: writeKey,
      context: { page: page(), campaign: campaign(), userAgent: w.navigator.userAgent, locale: w.navigator.language,
                 timezone: tz, library: { name: "nurture-t.js", version: VERSION } }
    };
    var uid = store.get("uid");
    if (uid) msg.userId = uid;
    for (var k in fields) if (Object.prototype.hasOwnProperty.call(fields, k)) msg[k] = fields[k];
    /* text/plain, no credentials: no CORS preflight, no cookies */
    return w.fetch(base + "/v1/" + type, { method: "POST", mode: "no-cors", credentials: "omit", keepalive: true,
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify(msg) })
      .then(function () { return true; }, function () { return false; });
  }
  function tagForms() { /* a signup form ties this browser's visits to the person */
    if (allowed()) [].forEach.call(d.querySelectorAll("form.nurture-form input[name=anonymous_id]"),
      function (i) { i.value = anonymousId(); });
  }
  var api = {
    loaded: true,
    /* the purposes the person agreed to (from the site's cookie banner); [] withdraws and forgets the id */
    consent: function (purposes) {
      var had = allowed(), list = (purposes || []).filter(function (p) { return typeof p === "string"; });
      if (!list.length) { store.del("consent"); store.del("aid"); store.del("uid"); return Promise.resolve(false); }
      store.set("consent", list.join(" "));
      if (!allowed()) { store.del("aid"); store.del("uid"); }
      tagForms();
      return !had && auto ? api.page() : Promise.resolve(allowed());
    },
    page: function (name, properties) {
      var p = page(), props = {}, k;
      for (k in p) props[k] = p[k];
      for (k in properties || {}) props[k] = properties[k];
      return send("page", name ? { name: name, properties: props } : { properties: props });
    },
    identify: function (userId, traits) {
      if (typeof userId === "object" && userId !== null) { traits = userId; userId = null; }
      if (!allowed()) return Promise.resolve(false);
      if (userId) store.set("uid", String(userId));
      return send("identify", { traits: traits || {} });
    },
    track: function (event, properties) { return send("track", { event: event, properties: properties || {} }); }
  };
  w.nurture = api;
  var queued = (stub && stub.q) || [];
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", tagForms); else tagForms();
  var first = allowed() && auto ? api.page() : null;
  queued.forEach(function (call) { api[call[0]].apply(api, call[1]); });
  return first;
})(window, document);

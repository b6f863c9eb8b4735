// Security keys and passkeys through the browser's WebAuthn API: the only script twostep needs.
(function () {
  "use strict";
  function enc(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  async function post(url, body) {
    var r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf() },
      body: JSON.stringify(body || {})
    });
    var j = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error((j.error && j.error.message) || "The request failed; reload the page and try again.");
    return j;
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = dec(pk.challenge);
    pk.user.id = dec(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    // The server's `mediation` is decided here: autofill or a button.
    delete o.mediation;
    var pk = o.publicKey;
    pk.challenge = dec(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = dec(c.id); });
    return { publicKey: pk };
  }
  function registration(c) {
    return { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
      response: { attestationObject: enc(c.response.attestationObject), clientDataJSON: enc(c.response.clientDataJSON) } };
  }
  function assertion(c) {
    return { id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
      response: { authenticatorData: enc(c.response.authenticatorData), clientDataJSON: enc(c.response.clientDataJSON),
        signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : null } };
  }
  function show(btn, msg) {
    var box = document.getElementById(btn.getAttribute("data-error"));
    if (box) { box.textContent = msg; box.hidden = !msg; }
  }
  // A password-less sign-in: the server names no account; the passkey does.
  var autofill = null;
  async function passkey(base, next, signal) {
    var started = await post(base + "/begin", {});
    var options = requestOptions(started.options);
    if (signal) { options.mediation = "conditional"; options.signal = signal; }
    var got = await navigator.credentials.get(options);
    var done = await post(base + "/finish", { ceremony: started.ceremony, credential: assertion(got), next: next || "/" });
    window.location.assign(done.redirect || "/");
  }
  async function run(btn) {
    var mode = btn.getAttribute("data-webauthn"), base = btn.getAttribute("data-url");
    show(btn, "");
    if (!window.PublicKeyCredential) { show(btn, "This browser cannot use security keys. Use a code instead."); return; }
    btn.disabled = true;
    try {
      if (mode === "passkey") {
        if (autofill) { autofill.abort(); autofill = null; }
        await passkey(base, btn.getAttribute("data-next"), null);
        return;
      }
      if (mode === "register") {
        var name = document.getElementById(btn.getAttribute("data-name")).value;
        var begun = await post(base + "/begin", { name: name });
        var created = await navigator.credentials.create(creationOptions(begun.options));
        await post(base + "/finish", { ceremony: begun.ceremony, credential: registration(created) });
        window.location.assign(btn.getAttribute("data-done"));
        return;
      }
      var started = await post(base + "/begin", {});
      var got;
      try {
        got = await navigator.credentials.get(requestOptions(started.options));
      } catch (e) {
        // The server counts the miss and says what it means (attempts left, a lock).
        var refused = await post(base + "/failed", {}).then(
          function () { return ""; },
          function (err) { return err.message; });
        throw new Error(refused || "No registered security key answered.");
      }
      var done = await post(base + "/finish", { ceremony: started.ceremony, credential: assertion(got),
        next: btn.getAttribute("data-next") || "/" });
      if (mode === "confirm") {
        btn.closest("form").submit();
      } else {
        window.location.assign(done.redirect || "/");
      }
    } catch (e) {
      show(btn, e.message);
    } finally {
      btn.disabled = false;
    }
  }
  document.querySelectorAll("[data-webauthn]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function (ev) { ev.preventDefault(); run(btn); });
  });
  // Passkeys offered in the username field's autofill (conditional UI).
  var field = document.querySelector("[data-passkey-autofill]");
  if (field && window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
      if (!yes) return;
      autofill = new AbortController();
      passkey(field.getAttribute("data-passkey-autofill"), field.getAttribute("data-next"), autofill.signal)
        .catch(function (e) {
          if (e.name !== "AbortError") show(field, e.message);
        });
    });
  }
})();

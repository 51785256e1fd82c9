// keyshift.js — passkeys in the page, with the browser's own WebAuthn API.
//
// Everything here is an addition: without JavaScript, or in a browser without
// WebAuthn, the passkey controls stay hidden and the forms work as plain form
// posts. Words a person reads come from the page (data-msg-* attributes and
// hidden elements rendered from the message catalog) or from the server's
// answers, never from this file.
(() => {
  "use strict";

  const supported = typeof window.PublicKeyCredential === "function" &&
    !!(navigator.credentials && navigator.credentials.create && navigator.credentials.get) &&
    window.isSecureContext !== false;

  // ---- base64url and the WebAuthn JSON forms, for browsers without the
  // Level 3 helpers (parse*OptionsFromJSON, toJSON). ----

  const fromB64url = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  };

  const toB64url = (buf) => {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const withIDs = (list) => (list || []).map((c) => Object.assign({}, c, { id: fromB64url(c.id) }));

  const creationOptions = (json) => {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromB64url(json.user.id) }),
      excludeCredentials: withIDs(json.excludeCredentials),
    });
  };

  const requestOptions = (json) => {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromB64url(json.challenge),
      allowCredentials: withIDs(json.allowCredentials),
    });
  };

  const credentialJSON = (cred) => {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    const r = cred.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
      if (r.getAuthenticatorData) response.authenticatorData = toB64url(r.getAuthenticatorData());
      if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
      const pk = r.getPublicKey && r.getPublicKey();
      if (pk) response.publicKey = toB64url(pk);
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      if (r.userHandle) response.userHandle = toB64url(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response,
    };
  };

  // ---- the JSON API ----

  // api sends a JSON request and resolves to {ok, status, body}; a network
  // failure resolves with status 0 and no body, so callers have one path.
  const api = async (method, path, body, extra) => {
    try {
      const headers = Object.assign(body === undefined ? {} : { "Content-Type": "application/json" }, extra || {});
      const res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
      let data = null;
      if (res.status !== 204) {
        try { data = await res.json(); } catch (e) { data = null; }
      }
      return { ok: res.ok, status: res.status, body: data };
    } catch (e) {
      return { ok: false, status: 0, body: null };
    }
  };

  // sinceLoad is the time since this page began loading, in whole
  // milliseconds: the rollout's "time to sign in", which the server takes
  // from the Keyshift-Signin-Ms header (or a form's signin_ms field) of the
  // request that finishes a sign-in, and bounds.
  const sinceLoad = () => String(Math.round(performance.now()));
  const timed = () => ({ "Keyshift-Signin-Ms": sinceLoad() });

  // timeForms adds the time since load to the sign-in forms as they are
  // sent, for the pages that work without this script too.
  const timeForms = () => {
    for (const form of document.querySelectorAll("form#signin-form, form#email-code-form")) {
      form.addEventListener("submit", () => {
        let field = form.querySelector("input[name=signin_ms]");
        if (!field) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = "signin_ms";
          form.appendChild(field);
        }
        field.value = sinceLoad();
      });
    }
  };

  // errorMessage is the server's words for a failed answer, else fallback.
  const errorMessage = (res, fallback) =>
    (res.body && res.body.error && res.body.error.message) || fallback;

  const say = (el, text) => {
    if (el) el.textContent = text || "";
  };

  const show = (el, on) => {
    if (el) el.hidden = !on;
  };

  // A browser's refusal that needs no words: the member cancelled, or the
  // page stopped the request itself.
  const quiet = (err) => err && (err.name === "NotAllowedError" || err.name === "AbortError");

  // go loads url, from the server even when only its fragment differs
  // from the page's address (assign() would merely scroll then).
  const go = (url) => {
    const u = new URL(url, window.location.href);
    if (u.pathname === window.location.pathname && u.search === window.location.search) {
      window.history.replaceState(null, "", u.href);
      window.location.reload();
    } else {
      window.location.assign(u.href);
    }
  };

  // ---- the Signal API (WebAuthn L3 §5.1.10): keep password managers in
  // step with the server. The server says what to signal (an answer's or
  // the page's "signals", in the shapes the browser takes); browsers
  // without the API, or that refuse, change nothing. ----

  const signalNames = {
    unknownCredential: "signalUnknownCredential", // a passkey keyshift does not know
    acceptedCredentials: "signalAllAcceptedCredentials", // the member's passkeys, all of them
    currentUser: "signalCurrentUserDetails", // the member's address and name now
  };

  // applySignals hands each signal to the browser, waiting at most a
  // moment so a page about to leave does not cut them off.
  const applySignals = async (signals) => {
    if (!signals || typeof window.PublicKeyCredential !== "function") return;
    const pending = [];
    for (const [key, name] of Object.entries(signalNames)) {
      if (!signals[key] || typeof PublicKeyCredential[name] !== "function") continue;
      pending.push(Promise.resolve(PublicKeyCredential[name](signals[key])).catch((e) =>
        console.debug("keyshift:", name, e && e.name)));
    }
    if (pending.length === 0) return;
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 500))]);
  };

  // pageSignals applies what the page carries (data-signals, JSON): the
  // account page's list of passkeys and the member's details.
  const pageSignals = () => {
    const el = document.querySelector("[data-signals]");
    if (!el) return;
    try {
      applySignals(JSON.parse(el.dataset.signals));
    } catch (e) {
      console.debug("keyshift: signals:", e && e.name);
    }
  };

  // ---- sign-in: conditional mediation (passkeys offered in the email
  // field's autofill) and a modal "Sign in with a passkey" button ----

  let leaving = false; // signed in: the page is on its way elsewhere

  // signIn finishes a passkey sign-in and goes on — to the page that sent
  // the member to sign in (returnTo), else to the account — or answers the
  // refusal to show.
  const signIn = async (flowId, cred, mediation, to) => {
    const res = await api("POST", "/api/passkeys/login/finish", {
      flowId, credential: credentialJSON(cred), mediation,
    }, timed());
    if (res.ok) {
      leaving = true;
      // Where the browser has the Signal API, the member's managers learn
      // which passkeys still count before the page leaves. Asked apart
      // (GET /api/session) so that a sign-in costs no extra query where
      // nobody uses the answer.
      if (typeof PublicKeyCredential.signalAllAcceptedCredentials === "function") {
        const session = await api("GET", "/api/session");
        await applySignals(session.body && session.body.signals);
      }
      const next = to || (res.body && res.body.returnTo) || "/account";
      // A passkey from another device (a phone, a security key) and the
      // server offers one here: ask, where this device can hold one.
      if (res.body && res.body.next === "enroll_passkey" && cred.authenticatorAttachment === "cross-platform" &&
          typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable === "function" &&
          await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().catch(() => false)) {
        go("/welcome/passkey?here=1&next=" + encodeURIComponent(next));
        return null;
      }
      go(next);
      return null;
    }
    // A passkey keyshift does not know (deleted here, or from before the
    // site moved to keyshift): the refusal says which, so the member's
    // manager stops offering it.
    await applySignals(res.body && res.body.error && res.body.error.signals);
    return res;
  };

  const setupSignin = (box) => {
    const form = document.getElementById("signin-form");
    const button = document.getElementById("passkey-button");
    const message = document.getElementById("passkey-message");
    let autofill = null; // {controller, done} of the conditional request, while it runs

    const mark = (state) => {
      if (form) form.dataset.passkeyAutofill = state;
    };

    const fail = (res) => say(message, errorMessage(res, box.dataset.msgFailed));

    // startAutofill offers the member's passkeys in the email field's
    // autofill. Cancelled — by the member, or by the page before another
    // request — it ends without a word. form[data-passkey-autofill] tells
    // its state: waiting, then ended (or unavailable).
    const startAutofill = () => {
      const controller = new AbortController();
      const signal = controller.signal;
      const run = async () => {
        const available = typeof PublicKeyCredential.isConditionalMediationAvailable === "function" &&
          await PublicKeyCredential.isConditionalMediationAvailable().catch(() => false);
        if (!available) return "unavailable";
        // "conditional" tells the server that autofill is offered: the
        // fill rate counts from here.
        const begin = await api("POST", "/api/passkeys/login/begin", { mediation: "conditional" });
        if (!begin.ok || signal.aborted) return "ended";
        let cred;
        try {
          cred = await navigator.credentials.get({
            mediation: "conditional",
            publicKey: requestOptions(begin.body.publicKey),
            signal,
          });
        } catch (err) {
          if (!quiet(err)) console.debug("keyshift: passkey autofill ended:", err.name);
          return "ended";
        }
        if (!cred) return "ended";
        const res = await signIn(begin.body.flowId, cred, "conditional");
        if (res) fail(res);
        return "ended";
      };
      mark("waiting");
      autofill = { controller, done: run().then(mark) };
    };

    const stopAutofill = async () => {
      if (!autofill) return;
      const a = autofill;
      autofill = null;
      a.controller.abort();
      await a.done;
    };

    button.addEventListener("click", async () => {
      if (leaving || button.disabled) return;
      button.disabled = true;
      say(message, "");
      try {
        // A pending conditional request makes every other get() fail.
        await stopAutofill();
        if (leaving) return;
        // A member this browser remembers signing in with a passkey is
        // asked for their own passkeys (username-first).
        const begin = await api("POST", "/api/passkeys/login/begin", box.dataset.email ? { email: box.dataset.email } : {});
        if (!begin.ok) {
          fail(begin);
          return;
        }
        let cred;
        try {
          cred = await navigator.credentials.get({ publicKey: requestOptions(begin.body.publicKey) });
        } catch (err) {
          say(message, quiet(err) ? box.dataset.msgNotAllowed : box.dataset.msgFailed);
          return;
        }
        const res = await signIn(begin.body.flowId, cred, "modal");
        if (res) fail(res);
      } finally {
        button.disabled = false;
        // Still here: the autofill offers the passkeys again.
        if (!leaving && !autofill) startAutofill();
      }
    });

    startAutofill();
    // The remembered passkey step: the button is the way in. (autofocus
    // did nothing while the button was hidden.)
    if (box.dataset.email && !document.querySelector("[aria-invalid=true]")) button.focus();
  };

  // ---- the automatic upgrade: a passkey saved by the password manager
  // itself (conditional create), right after a sign-in it filled ----

  const upgradeMark = "keyshift.upgrade";
  let upgrade = null; // {controller, done} of a pending conditional create

  // markAutofilled notes, when the password manager filled the password
  // of the sign-in being posted, that the next page may ask it to save a
  // passkey. The server accepts that only within 5 minutes of a password
  // sign-in; the mark lasts as long.
  const markAutofilled = (form) => {
    form.addEventListener("submit", (ev) => {
      const password = form.elements.password;
      if (!password || (ev.submitter && ev.submitter.id !== "password-submit")) return;
      let filled = false;
      for (const sel of [":autofill", ":-webkit-autofill"]) {
        try { filled = filled || password.matches(sel); } catch (e) { /* selector unknown here */ }
      }
      if (filled) sessionStorage.setItem(upgradeMark, String(Date.now()));
    });
  };

  // tryUpgrade asks the password manager to save a passkey without a
  // dialog. Any refusal is silent: the nudge stays the fallback. Saved, the
  // account page says so in a small note.
  const tryUpgrade = async () => {
    const at = Number(sessionStorage.getItem(upgradeMark));
    sessionStorage.removeItem(upgradeMark);
    if (!at || Date.now() - at > 5 * 60 * 1000) return;
    if (typeof PublicKeyCredential.getClientCapabilities !== "function") return;
    const caps = await PublicKeyCredential.getClientCapabilities().catch(() => ({}));
    if (!caps || !caps.conditionalCreate) return;
    const begin = await api("POST", "/api/passkeys/upgrade/begin", {});
    if (!begin.ok) return;
    const controller = new AbortController();
    const pending = navigator.credentials.create({
      mediation: "conditional",
      publicKey: creationOptions(begin.body.publicKey),
      signal: controller.signal,
    });
    upgrade = { controller, done: pending.catch(() => null) };
    let cred;
    try {
      cred = await pending;
    } catch (err) {
      if (!quiet(err)) console.debug("keyshift: no automatic passkey:", err.name);
      return;
    } finally {
      upgrade = null;
    }
    const res = await api("POST", "/api/passkeys/register/finish", { flowId: begin.body.flowId, credential: credentialJSON(cred) });
    if (res.ok) go("/account?passkey=saved#passkeys");
  };

  // ---- step-up: "confirm it's you" before a sensitive action, inline ----
  //
  // The account page says how long its session may still do sensitive
  // actions (the dialog's data-fresh-for, seconds); past that, or when the
  // server answers 403 reauth_required, the page steps up — a passkey
  // assertion for a member with one, else a field for the password or a
  // code mailed by the begin step — and then goes on with the action.

  let freshUntil = 0; // performance.now() until which no step-up is needed

  // finishStepUp posts a step-up's proof; a success moves freshUntil by the
  // window the server answers, less a margin for the way back.
  const finishStepUp = async (body) => {
    const res = await api("POST", "/api/reauth/finish", body);
    if (res.ok && res.body) {
      const window = Date.parse(res.body.freshUntil) - Date.parse(res.body.steppedUpAt);
      if (window > 0) freshUntil = performance.now() + window - 10000;
    }
    return res;
  };

  // stepUpField shows the dialog's field — for a password or a code — or,
  // with method "", only a message; it resolves true once a proof was
  // accepted, false when the member cancels.
  const stepUpField = (dlg, method, lead) => new Promise((resolve) => {
    const form = document.getElementById("stepup-form");
    const input = document.getElementById("stepup-secret");
    const label = document.getElementById("stepup-label");
    const error = document.getElementById("stepup-error");
    const confirm = document.getElementById("stepup-confirm");
    const cancel = document.getElementById("stepup-cancel");
    const pw = method === "password";
    say(document.getElementById("stepup-lead"), lead);
    say(label, pw ? dlg.dataset.labelPassword : dlg.dataset.labelCode);
    say(error, "");
    input.value = "";
    input.type = pw ? "password" : "text";
    input.autocomplete = pw ? "current-password" : "one-time-code";
    input.inputMode = pw ? "text" : "numeric";
    for (const el of [label, input, confirm]) show(el, method !== "");
    const done = (ok) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dlg.removeEventListener("cancel", onCancel);
      if (dlg.open) dlg.close();
      resolve(ok);
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      if (confirm.disabled || method === "") return;
      confirm.disabled = true;
      try {
        const res = await finishStepUp(pw ? { method, password: input.value } : { method, code: input.value });
        if (res.ok) {
          done(true);
          return;
        }
        say(error, errorMessage(res, dlg.dataset.msgFailed));
        input.focus();
      } finally {
        confirm.disabled = false;
      }
    };
    const onCancel = (ev) => {
      ev.preventDefault();
      done(false);
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dlg.addEventListener("cancel", onCancel);
    if (!dlg.open) dlg.showModal();
    (method !== "" ? input : cancel).focus();
  });

  // stepUp runs the member's step-up and resolves true once the session is
  // fresh; a failure is said in the dialog and resolves false.
  const stepUp = async () => {
    const dlg = document.getElementById("stepup");
    if (!dlg) return false;
    const tell = async (msg) => {
      await stepUpField(dlg, "", msg);
      return false;
    };
    const begin = await api("POST", "/api/reauth/begin", {});
    if (!begin.ok) return tell(errorMessage(begin, dlg.dataset.msgFailed));
    const methods = (begin.body && begin.body.methods) || [];
    if (methods.includes("passkey")) {
      if (!supported) return tell(dlg.dataset.msgCannot);
      // A pending conditional create makes every other request fail.
      if (upgrade) {
        upgrade.controller.abort();
        await upgrade.done;
      }
      let cred;
      try {
        cred = await navigator.credentials.get({ publicKey: requestOptions(begin.body.publicKey) });
      } catch (err) {
        return tell(quiet(err) ? dlg.dataset.msgNotAllowed : dlg.dataset.msgFailed);
      }
      const res = await finishStepUp({ method: "passkey", flowId: begin.body.flowId, credential: credentialJSON(cred) });
      return res.ok || tell(errorMessage(res, dlg.dataset.msgFailed));
    }
    if (methods.includes("password")) return stepUpField(dlg, "password", dlg.dataset.leadPassword);
    if (methods.includes("email_code")) return stepUpField(dlg, "email_code", dlg.dataset.leadCode);
    return tell(dlg.dataset.msgCannot);
  };

  // needsStepUp reports whether res is the server's 403 reauth_required.
  const needsStepUp = (res) => res.status === 403 && res.body && res.body.error && res.body.error.code === "reauth_required";

  // withStepUp runs call and, when the server wants a step-up first, steps
  // up and runs it once more.
  const withStepUp = async (call) => {
    const res = await call();
    if (!needsStepUp(res) || !(await stepUp())) return res;
    return call();
  };

  // setupStepUpForms steps up before the account page's sensitive forms
  // (form[data-stepup]) post, when the session is no longer fresh for them,
  // and then posts the form as the member sent it.
  const setupStepUpForms = () => {
    const dlg = document.getElementById("stepup");
    if (!dlg || typeof dlg.showModal !== "function") return;
    freshUntil = performance.now() + Number(dlg.dataset.freshFor || 0) * 1000;
    for (const form of document.querySelectorAll("form[data-stepup]")) {
      let busy = false;
      form.addEventListener("submit", async (ev) => {
        if (form.dataset.steppedUp === "1" || performance.now() < freshUntil) return;
        ev.preventDefault();
        if (busy) return;
        busy = true;
        try {
          const submitter = ev.submitter && ev.submitter.form === form ? ev.submitter : null;
          if (!(await stepUp())) return;
          form.dataset.steppedUp = "1";
          if (submitter) form.requestSubmit(submitter);
          else form.requestSubmit();
        } finally {
          busy = false;
        }
      });
    }
  };

  // setupCodesDownload saves the recovery codes just shown as a text file,
  // one code a line under the page's header line.
  const setupCodesDownload = (button) => {
    button.hidden = false;
    button.addEventListener("click", () => {
      const codes = [...document.querySelectorAll("#recovery-codes code")].map((e) => e.textContent.trim());
      const text = [button.dataset.header, ""].concat(codes).join("\n") + "\n";
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      a.download = "recovery-codes.txt";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    });
  };

  // setupExport makes "Download my data" step up when the server wants it
  // and save the answer as a file; without this script the link downloads
  // the answer as it is.
  const setupExport = (link) => {
    const error = document.getElementById("export-error");
    link.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (link.dataset.busy) return;
      link.dataset.busy = "1";
      say(error, "");
      try {
        const res = await withStepUp(() => api("GET", link.getAttribute("href")));
        if (!res.ok) {
          say(error, errorMessage(res, document.getElementById("stepup").dataset.msgFailed));
          return;
        }
        const blob = new Blob([JSON.stringify(res.body, null, 2)], { type: "application/json" });
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = "account-data-" + String(res.body.exportedAt || "").slice(0, 10) + ".json";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        link.dataset.done = "1";
      } finally {
        delete link.dataset.busy;
      }
    });
  };

  // ---- the account page: add, rename and remove passkeys ----

  // setupPasskeys makes "Add a passkey" (on the account page and the
  // nudge's page) and "Use that passkey to sign in" work; they are shown
  // only where WebAuthn is.
  // createPasskey runs a registration (stepping up first when the server
  // asks) and resolves to the finish answer, or to null with the refusal
  // said in message (and onDevice shown when this device holds one of the
  // member's passkeys already).
  const createPasskey = async (message, onDevice, failed) => {
    show(onDevice, false);
    // A pending conditional create makes every other create() fail.
    if (upgrade) {
      upgrade.controller.abort();
      await upgrade.done;
    }
    const begin = await withStepUp(() => api("POST", "/api/passkeys/register/begin", {}));
    if (!begin.ok) {
      say(message, errorMessage(begin, failed));
      return null;
    }
    const flowId = begin.body.flowId;
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: creationOptions(begin.body.publicKey) });
    } catch (err) {
      // The server words the browser's refusal, and records it.
      const res = await api("POST", "/api/passkeys/register/error", { flowId, name: err.name || "Error" });
      const code = res.ok && res.body ? res.body.code : "";
      say(message, res.ok && res.body ? res.body.message : failed);
      show(onDevice, code === "passkey_on_device");
      return null;
    }
    const res = await api("POST", "/api/passkeys/register/finish", { flowId, credential: credentialJSON(cred) });
    if (res.ok) return res;
    say(message, errorMessage(res, failed));
    return null;
  };

  const setupPasskeys = (section) => {
    const add = document.getElementById("add-passkey");
    const message = document.getElementById("add-passkey-message");
    const onDevice = document.getElementById("passkey-on-device");
    const use = document.getElementById("use-passkey");
    const failed = section.dataset.msgFailed;

    if (add) {
      add.addEventListener("click", async () => {
        if (add.disabled) return;
        add.disabled = true;
        say(message, "");
        try {
          if (await createPasskey(message, onDevice, failed)) go("/account?passkey=added#passkeys");
        } finally {
          add.disabled = false;
        }
      });
    }

    // "Moving to another password manager?": confirm with a passkey in use
    // (a step-up every time, whatever the session's age), then make the new
    // one; the page that follows offers to remove the others.
    const moveConfirm = document.getElementById("move-confirm");
    const moveCreate = document.getElementById("move-create");
    const moveMessage = document.getElementById("move-message");
    if (moveConfirm && moveCreate) {
      moveConfirm.addEventListener("click", async () => {
        if (moveConfirm.disabled) return;
        moveConfirm.disabled = true;
        try {
          if (!(await stepUp())) return;
          moveConfirm.hidden = true;
          moveCreate.hidden = false;
          say(moveMessage, moveMessage.dataset.msgConfirmed);
        } finally {
          moveConfirm.disabled = false;
        }
      });
      moveCreate.addEventListener("click", async () => {
        if (moveCreate.disabled) return;
        moveCreate.disabled = true;
        say(moveMessage, "");
        try {
          const res = await createPasskey(moveMessage, null, failed);
          if (res) go("/account?moved=" + encodeURIComponent(res.body.passkey.id) + "#move-manager");
        } finally {
          moveCreate.disabled = false;
        }
      });
    }

    // "Use that passkey to sign in": the device already holds one of the
    // member's passkeys; sign in with exactly those (username-first).
    if (use) {
      use.addEventListener("click", async () => {
        if (use.disabled) return;
        use.disabled = true;
        try {
          const begin = await api("POST", "/api/passkeys/login/begin", { email: section.dataset.email });
          if (!begin.ok) {
            say(message, errorMessage(begin, failed));
            return;
          }
          let cred;
          try {
            cred = await navigator.credentials.get({ publicKey: requestOptions(begin.body.publicKey) });
          } catch (err) {
            say(message, quiet(err) ? section.dataset.msgNotAllowed : failed);
            return;
          }
          const res = await signIn(begin.body.flowId, cred, "username", "/account?passkey=used#passkeys");
          if (res) say(message, errorMessage(res, failed));
        } finally {
          use.disabled = false;
        }
      });
    }
  };

  // setupManage sends the rename and remove forms through the API and shows
  // a refusal beside the form; without JavaScript they post as they are.
  const setupManage = (section) => {
    const failed = section.dataset.msgFailed;

    section.addEventListener("submit", async (ev) => {
      const form = ev.target;
      const id = form.dataset.passkey;
      if (!id) return;
      ev.preventDefault();
      const error = form.querySelector(".error");
      const submit = form.querySelector("button[type=submit]");
      if (submit.disabled) return;
      submit.disabled = true;
      say(error, "");
      try {
        const path = "/api/passkeys/" + encodeURIComponent(id);
        const res = form.dataset.action === "delete"
          ? await withStepUp(() => api("DELETE", path))
          : await api("PATCH", path, { name: form.elements.name.value });
        if (res.ok) {
          window.location.reload();
          return;
        }
        say(error, errorMessage(res, failed));
      } finally {
        submit.disabled = false;
      }
    });
  };

  // ---- sign-in: one address, two ways on ----

  // setupOneAddress keeps the password out of "Email me a sign-in link",
  // which posts the same form elsewhere: a disabled field is not sent. A
  // page restored from the back/forward cache gets the field back.
  const setupOneAddress = (form) => {
    const password = form.elements.password;
    if (!password) return;
    form.addEventListener("submit", (ev) => {
      if (ev.submitter && ev.submitter.id === "email-signin-submit") password.disabled = true;
    });
    window.addEventListener("pageshow", () => { password.disabled = false; });
  };

  // ---- /admin for an admin whose session proved no passkey: a step-up
  // with one of their passkeys (POST /api/reauth/begin|finish), then the
  // dashboard again ----

  const setupAdminStepUp = (section) => {
    const button = document.getElementById("admin-stepup-button");
    const message = document.getElementById("admin-stepup-message");
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      say(message, "");
      try {
        const begin = await api("POST", "/api/reauth/begin", {});
        if (!begin.ok || !begin.body || !begin.body.publicKey) {
          say(message, errorMessage(begin, section.dataset.msgFailed));
          return;
        }
        let cred;
        try {
          cred = await navigator.credentials.get({ publicKey: requestOptions(begin.body.publicKey) });
        } catch (err) {
          if (!quiet(err)) say(message, section.dataset.msgFailed);
          return;
        }
        const res = await api("POST", "/api/reauth/finish", { flowId: begin.body.flowId, credential: credentialJSON(cred) });
        if (!res.ok) {
          say(message, errorMessage(res, section.dataset.msgFailed));
          return;
        }
        go(window.location.href);
      } finally {
        button.disabled = false;
      }
    });
  };

  // ---- start ----

  const start = () => {
    timeForms();
    const one = document.querySelector("form.signin-one");
    if (one) setupOneAddress(one);
    const passkeys = document.getElementById("passkeys");
    const welcome = document.getElementById("welcome-passkey");
    if (passkeys) setupManage(passkeys);
    setupStepUpForms();
    const download = document.getElementById("recovery-download");
    if (download) setupCodesDownload(download);
    const exportLink = document.getElementById("export-data");
    if (exportLink) setupExport(exportLink);
    if (!supported) {
      // The nudge offers nothing this browser can do: on to the account.
      if (welcome) window.location.replace(welcome.dataset.skip || "/account");
      return; // the passkey controls stay hidden
    }
    pageSignals();
    for (const el of document.querySelectorAll("[data-requires~=webauthn]")) el.hidden = false;
    for (const el of document.querySelectorAll("[data-without~=webauthn]")) el.hidden = true;
    const signin = document.getElementById("passkey-signin");
    if (signin) setupSignin(signin);
    const signinForm = document.getElementById("signin-form");
    if (signinForm) markAutofilled(signinForm);
    else if (sessionStorage.getItem(upgradeMark)) tryUpgrade();
    if (passkeys) setupPasskeys(passkeys);
    const stepUp = document.getElementById("admin-stepup");
    if (stepUp) setupAdminStepUp(stepUp);
    if (welcome) {
      setupPasskeys(welcome);
      // Right after a passkey-first sign-up: the passkey is the next step,
      // asked for at once; cancelled, the page offers it again or "Not now".
      const add = document.getElementById("add-passkey");
      if (welcome.dataset.autostart && add) add.click();
    }
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

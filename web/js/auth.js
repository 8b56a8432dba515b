// Sign-in: a local token from the dashboard link's fragment, or Cognito's hosted UI with the
// authorization code flow and PKCE (RFC 7636). No secret lives in the page: the app client is
// public, and `mailroom local` puts its token in no response any page could read: it prints
// http://127.0.0.1:PORT/#token=..., a fragment the browser never sends. The page keeps it in
// this tab's sessionStorage and takes it out of the address bar (and so of the history).

const VERIFIER_KEY = "mailroom.pkce.verifier";
const STATE_KEY = "mailroom.pkce.state";
const SESSION_KEY = "mailroom.session";
const LOCAL_TOKEN_KEY = "mailroom.local.token";

/** base64url without padding (RFC 4648 section 5), as PKCE and JWTs use it. */
export function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A code_verifier: 32 random bytes give 43 characters, the least RFC 7636 allows. */
export function randomVerifier(byteCount = 32) {
  const bytes = new Uint8Array(byteCount);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}

/** The S256 code_challenge: base64url(SHA-256(ASCII(verifier))). */
export async function challengeS256(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(digest);
}

/** The claims of a JWT, unverified: only to show who is signed in (the API verifies). */
export function jwtClaims(token) {
  const part = String(token || "").split(".")[1];
  if (!part) return {};
  try {
    const padded = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** The hosted UI's authorize URL for this verifier and state. */
export async function authorizeUrl(auth, verifier, state) {
  const params = new URLSearchParams({
    response_type: "code",
    client_id: auth.clientId,
    redirect_uri: auth.redirectUri,
    scope: "openid email",
    state,
    code_challenge: await challengeS256(verifier),
    code_challenge_method: "S256",
  });
  return `${trimSlash(auth.domain)}/oauth2/authorize?${params}`;
}

export function logoutUrl(auth) {
  const params = new URLSearchParams({ client_id: auth.clientId, logout_uri: auth.redirectUri });
  return `${trimSlash(auth.domain)}/logout?${params}`;
}

function trimSlash(text) {
  return String(text).replace(/\/+$/, "");
}

export class SignInError extends Error {}

/**
 * The session for this config: {token, user, mode}, or null when the person must sign in.
 * In Cognito mode this also finishes a sign-in the hosted UI redirected back from.
 */
export async function currentSession(config, location = window.location) {
  const auth = config.auth || {};
  if (auth.mode === "local") {
    const token = localToken(location);
    if (!token) {
      throw new SignInError(
        "Open the dashboard link `mailroom local` printed (it ends in #token=...) to sign in.",
      );
    }
    return { mode: "local", token, user: auth.user || "local staff" };
  }
  if (auth.mode !== "cognito") throw new SignInError(`Unknown sign-in mode "${auth.mode}".`);
  const query = new URLSearchParams(location.search);
  if (query.has("error")) {
    cleanUrl();
    throw new SignInError(
      `Sign-in failed: ${query.get("error_description") || query.get("error")}`,
    );
  }
  if (query.has("code")) return finishSignIn(auth, query);
  return storedSession();
}

/** The local token: from the link's `#token=` (then kept in this tab only), else as kept. */
export function localToken(location = window.location) {
  const fragment = new URLSearchParams(String(location.hash || "").replace(/^#/, ""));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(LOCAL_TOKEN_KEY, given);
    window.history.replaceState(null, "", location.pathname + location.search);
    return given;
  }
  return sessionStorage.getItem(LOCAL_TOKEN_KEY);
}

function storedSession() {
  const text = sessionStorage.getItem(SESSION_KEY);
  if (!text) return null;
  try {
    const session = JSON.parse(text);
    if (session.expiresAt > Date.now() + 30_000) return session;
  } catch {
    // fall through: a damaged entry is a signed-out state
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

export async function beginSignIn(auth) {
  const verifier = randomVerifier();
  const state = randomVerifier(16);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  sessionStorage.setItem(STATE_KEY, state);
  window.location.assign(await authorizeUrl(auth, verifier, state));
}

async function finishSignIn(auth, query) {
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  const expected = sessionStorage.getItem(STATE_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  sessionStorage.removeItem(STATE_KEY);
  cleanUrl();
  // The state ties this redirect to a sign-in this tab started (no login CSRF).
  if (!verifier || !expected || query.get("state") !== expected) {
    throw new SignInError("The sign-in answer does not match a sign-in started here. Sign in again.");
  }
  const response = await fetch(`${trimSlash(auth.domain)}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.clientId,
      code: query.get("code"),
      redirect_uri: auth.redirectUri,
      code_verifier: verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) {
    throw new SignInError(`Sign-in failed: ${tokens.error || response.status}. Sign in again.`);
  }
  // The API is sent the ID token, not the access token: Cognito's access token carries no
  // `email` claim, and the API takes the signed-in person from `email` first (it becomes the
  // sender of an upload and the deleted_by of a delete). The JWT authorizer accepts the ID
  // token because its `aud` is this app client.
  const claims = jwtClaims(tokens.id_token);
  const session = {
    mode: "cognito",
    token: tokens.id_token,
    accessToken: tokens.access_token,
    user: claims.email || claims["cognito:username"] || "signed in",
    expiresAt: (claims.exp ? claims.exp * 1000 : Date.now() + (tokens.expires_in || 3600) * 1000),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

function cleanUrl() {
  // The code is single-use; keep it out of the history and of a reload.
  window.history.replaceState(null, "", window.location.pathname);
}

export function signOut(config) {
  sessionStorage.removeItem(SESSION_KEY);
  if (config.auth && config.auth.mode === "cognito") window.location.assign(logoutUrl(config.auth));
}

export function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(LOCAL_TOKEN_KEY);
}

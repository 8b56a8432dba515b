// Roles (Cognito groups in the ID token's `cognito:groups`): what the page offers each one.
// The API decides (functions/mailroom/usecases/roles.py); the page only hides what would be
// refused. Ordered: an uploader may read, an admin may do everything.

const RANKS = { readers: 1, uploaders: 2, admins: 3 };
const NAMES = { 1: "reader", 2: "uploader", 3: "admin" };
const NEEDED = { read: 1, upload: 2, file: 2, delete: 3, release: 3 };

/** The highest role of a token's claims ("reader", "uploader", "admin"), or null. */
export function roleOf(claims) {
  let groups = (claims || {})["cognito:groups"] || [];
  if (typeof groups === "string") groups = groups.replace(/^\[|\]$/g, "").split(/\s+/);
  const rank = Math.max(0, ...groups.map((group) => RANKS[group] || 0));
  return NAMES[rank] || null;
}

/** Whether `role` may do `action` ("read", "upload", "file", "delete", "release"). */
export function can(role, action) {
  const rank = Object.entries(NAMES).find(([, name]) => name === role);
  return Boolean(rank) && Number(rank[0]) >= NEEDED[action];
}

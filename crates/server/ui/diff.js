// diff.js — a structural diff of two JSON documents (a flag before and after a change): the list
// of changed paths with their old and new values. Arrays of objects with an `id` (segments,
// variants, constraints, tags...) are matched by id, so a reorder or a deletion reads as what it
// was, not as every later element changing.

/** Keys that change with every write and say nothing the change's header does not. */
const NOISE = new Set(['updatedAt', 'updatedBy']);

/**
 * The differences between `before` and `after`: [{path: [label...], before, after}], where a
 * missing side is `undefined` (added or removed).
 */
export function diff(before, after) {
  const changes = [];
  walk(before, after, [], changes);
  return changes;
}

function walk(before, after, path, changes) {
  if (equal(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of unionKeys(before, after)) {
      if (!NOISE.has(key)) walk(before[key], after[key], [...path, key], changes);
    }
  } else if (Array.isArray(before) && Array.isArray(after)) {
    if (byId(before) && byId(after)) walkById(before, after, path, changes);
    else for (let i = 0; i < Math.max(before.length, after.length); i++) walk(before[i], after[i], [...path, `[${i}]`], changes);
  } else {
    changes.push({ path, before, after });
  }
}

function walkById(before, after, path, changes) {
  const parent = path[path.length - 1] || 'item';
  const old = new Map(before.map((item) => [item.id, item]));
  const ids = [...after.map((item) => item.id), ...before.map((item) => item.id).filter((id) => !after.some((item) => item.id === id))];
  for (const id of ids) {
    const next = after.find((item) => item.id === id);
    const label = itemLabel(parent, next || old.get(id));
    walk(old.get(id), next, [...path.slice(0, -1), label], changes);
  }
}

/** "segment #3 “everyone”", "variant #2 “blue”", "constraint #4 “state EQ "CA"”". */
function itemLabel(parent, item) {
  const singular = parent.endsWith('s') ? parent.slice(0, -1) : parent;
  const name = item.property
    ? `${item.property} ${item.operator} ${item.value}`
    : (item.key ?? item.value ?? item.variantKey ?? item.description);
  return `${singular} #${item.id}${name ? ` “${name}”` : ''}`;
}

function byId(array) {
  return array.every((item) => isObject(item) && item.id !== undefined);
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unionKeys(a, b) {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

function equal(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = unionKeys(a, b);
  return keys.every((key) => equal(a[key], b[key]));
}

/** A value as the diff shows it: strings as they are, anything else as compact JSON. */
export function showValue(value) {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value === '' ? '(empty)' : value;
  return JSON.stringify(value);
}

import { badRequest, MAX_LIMIT } from '@odtp/browse';
import type { ListQuery } from '@odtp/browse';

const RESERVED = new Set(['sort', 'order', 'limit', 'after']);

/** Turn the raw query string into a ListQuery; user input never reaches a filter unchecked. */
export function parseListQuery(raw: Record<string, unknown>): ListQuery {
  const filters: Record<string, string> = {};
  const out: ListQuery = { filters };
  for (const [key, value] of Object.entries(raw)) {
    if (key.includes('$'))
      throw badRequest(`query parameter names must not contain "$" (got "${key.slice(0, 60)}")`);
    if (typeof value !== 'string')
      throw badRequest(`query parameter "${key}" must be given once, as a plain value`);
    if (!RESERVED.has(key)) {
      filters[key] = value;
      continue;
    }
    if (key === 'sort') out.sort = value;
    else if (key === 'after') out.after = value;
    else if (key === 'order') {
      if (value !== 'asc' && value !== 'desc')
        throw badRequest(`order must be asc or desc (got "${value.slice(0, 20)}")`);
      out.order = value;
    } else {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT)
        throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT} (got "${value.slice(0, 20)}")`);
      out.limit = Number(value);
    }
  }
  return out;
}

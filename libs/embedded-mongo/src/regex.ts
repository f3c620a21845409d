import { RE2JS } from 're2js';
import { CommandError, ErrorCode } from './errors';

/**
 * Regular expressions of queries, aggregation expressions and `$jsonSchema` patterns, evaluated by RE2 (re2js):
 * linear in the length of the input whatever the pattern, so no pattern can hold the single-threaded server
 * (`^([a-z.@]+)+!$` on a long string takes microseconds, where a backtracking engine takes minutes). The price:
 * RE2 syntax, without backreferences or lookaround; such a pattern is refused (BadValue) instead of run.
 */
export interface Regex {
  readonly source: string;
  readonly options: string;
  test(input: string): boolean;
  /** The first match at or after `from` (UTF-16 offsets), with its groups (undefined when a group did not take part). */
  exec(input: string, from?: number): RegexMatch | null;
  /** Every match, left to right, with one matcher over the input (linear); an empty match advances one unit. */
  matches(input: string): Iterable<RegexMatch>;
}

export interface RegexMatch {
  index: number;
  end: number;
  groups: (string | undefined)[];
}

const cache = new Map<string, Regex>();

/** Compile `pattern` with MongoDB options (i, m, s; x strips unescaped whitespace and # comments; u is implied). */
export function compileRegex(pattern: string, options = ''): Regex {
  const key = `${options}/${pattern}`;
  const cached = cache.get(key);
  if (cached) return cached;
  for (const o of options)
    if (!'imsxu'.includes(o))
      throw new CommandError(ErrorCode.BadValue, `invalid flag in regex options: ${o}`);
  let flags = 0;
  if (options.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
  if (options.includes('m')) flags |= RE2JS.MULTILINE;
  if (options.includes('s')) flags |= RE2JS.DOTALL;
  const source = options.includes('x') ? stripExtended(pattern) : pattern;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, flags);
  } catch (e) {
    throw new CommandError(
      ErrorCode.BadValue,
      `Regular expression is invalid or not supported: /${pattern.slice(0, 100)}/ (${(e as Error).message}); the embedded server evaluates regular expressions in linear time (RE2 syntax: no backreferences or lookaround)`,
    );
  }
  const found = (m: ReturnType<RE2JS['matcher']>): RegexMatch => {
    const groups: (string | undefined)[] = [];
    for (let g = 1; g <= m.groupCount(); g++) groups.push(m.group(g) ?? undefined);
    return { index: m.start(), end: m.end(), groups };
  };
  const regex: Regex = {
    source: pattern,
    options,
    test: (input) => re.matcher(input).find(),
    exec: (input, from = 0) => {
      const m = re.matcher(input);
      return m.find(from) ? found(m) : null;
    },
    *matches(input) {
      const m = re.matcher(input);
      for (let from = 0; from <= input.length && m.find(from);) {
        const match = found(m);
        yield match;
        from = match.end > match.index ? match.end : match.end + 1;
      }
    },
  };
  if (cache.size > 1000) cache.clear();
  cache.set(key, regex);
  return regex;
}

/** The `x` option: whitespace outside character classes and `#` comments to the end of the line are ignored. */
function stripExtended(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i < pattern.length && pattern[i] !== '\n') i++;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** A RegExp value or a BSON regular expression as a Regex; undefined for anything else. */
export function asRegex(v: unknown): Regex | undefined {
  if (v instanceof RegExp) return compileRegex(v.source, v.flags.replace(/[gyd]/g, ''));
  if ((v as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp') {
    const r = v as { pattern: string; options: string };
    return compileRegex(r.pattern, r.options.replace(/[^imsx]/g, ''));
  }
  return undefined;
}

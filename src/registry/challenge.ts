/**
 * Parses `WWW-Authenticate` challenges (RFC 9110 §11.6.1, auth-params per §11.2) as registries
 * send them: `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
 * scope="repository:library/nginx:pull"` or `Basic realm="Registry"`. Pure.
 */

export interface Challenge {
  /** Lowercased scheme: "bearer", "basic", ... */
  readonly scheme: string;
  /** Lowercased parameter names → unquoted values. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const SPACES = /[ \t]*/y;
/** Unquoted values should be tokens, but some registries send bare URLs: take up to , or space. */
const BARE_VALUE = /[^\s,"]+/y;

/**
 * Every challenge in the header value(s), in order. Malformed input yields what could be read
 * before the damage (a registry's broken header must not throw in the request path).
 */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values.flatMap(parseOne);
}

function parseOne(input: string): Challenge[] {
  const challenges: Challenge[] = [];
  let pos = 0;
  /** Consumes what the sticky `pattern` matches at the current position, if anything. */
  const take = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = pos;
    const match = pattern.exec(input);
    if (match === null) return undefined;
    pos = pattern.lastIndex;
    return match[0];
  };
  const skipSpaces = (): void => void take(SPACES);
  const token = (): string | undefined => take(TOKEN);
  const bare = (): string | undefined => take(BARE_VALUE);
  const quoted = (): string | undefined => {
    if (input[pos] !== '"') return undefined;
    let value = '';
    for (pos++; pos < input.length; pos++) {
      const ch = input[pos]!;
      if (ch === '"') {
        pos++;
        return value;
      }
      if (ch === '\\' && pos + 1 < input.length) pos++;
      value += input[pos];
    }
    return undefined;
  };

  while (pos < input.length) {
    skipSpaces();
    if (input[pos] === ',') {
      pos++;
      continue;
    }
    const scheme = token();
    if (scheme === undefined) break;
    const params: Record<string, string> = {};
    // auth-params until the next challenge: a token followed by space and a token not followed by "=".
    for (;;) {
      skipSpaces();
      const start = pos;
      const name = token();
      if (name === undefined) break;
      skipSpaces();
      if (input[pos] !== '=') {
        pos = start; // the next challenge's scheme
        break;
      }
      pos++;
      skipSpaces();
      const value = input[pos] === '"' ? quoted() : bare();
      if (value === undefined) return [...challenges, { scheme: scheme.toLowerCase(), params }];
      params[name.toLowerCase()] = value;
      skipSpaces();
      if (input[pos] === ',') pos++;
    }
    challenges.push({ scheme: scheme.toLowerCase(), params });
  }
  return challenges;
}

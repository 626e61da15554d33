/**
 * The one place HTML is made: every interpolated value is escaped unless it is already SafeHtml,
 * and SafeHtml can only come from the `html` tag. Links go through `link`, which takes an Href
 * that only `sitePath` (same-site paths) and `externalHref` (validated http/https) can make.
 */

const BRAND = Symbol('remediator-safe-html');

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes the five characters that can end text or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Markup that is known to be safe: made only by `html`, so no string reaches a page unescaped. */
export class SafeHtml {
  readonly #text: string;

  constructor(brand: symbol, text: string) {
    if (brand !== BRAND) throw new TypeError('SafeHtml is made only by the html tag');
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

/** What may be interpolated: markup, or values that are escaped (an Href too); false, null and undefined render nothing. */
export type HtmlValue = SafeHtml | Href | string | number | false | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** The template tag of every page: literal parts are the author's markup, every value is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(BRAND, out);
}

/** A link target that is either a same-site path or a validated http(s) URL. */
export class Href {
  readonly #url: string;

  constructor(brand: symbol, url: string) {
    if (brand !== BRAND) throw new TypeError('Href is made only by sitePath or externalHref');
    this.#url = url;
  }

  toString(): string {
    return this.#url;
  }
}

/** `.` and `..` would be folded away by the browser, so they are percent-encoded as well. */
function segment(text: string): string {
  const encoded = encodeURIComponent(text);
  return encoded === '.' || encoded === '..' ? encoded.replaceAll('.', '%2E') : encoded;
}

/** A same-site path from raw segments (each URL-encoded) and query values (undefined and '' left out). */
export function sitePath(segments: readonly string[], query: Readonly<Record<string, string | undefined | null>> = {}): Href {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
  const qs = params.toString();
  return new Href(BRAND, `/${segments.map(segment).join('/')}${qs === '' ? '' : `?${qs}`}`);
}

/** An Href for an http or https URL from untrusted data, or null for anything else (javascript:, data:, relative). */
export function externalHref(url: string): Href | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? new Href(BRAND, parsed.href) : null;
  } catch {
    return null;
  }
}

/** An anchor; external links carry rel="noopener noreferrer". */
export function link(href: Href, content: HtmlValue): SafeHtml {
  const url = href.toString();
  const rel = url.startsWith('/') ? '' : ' rel="noopener noreferrer"';
  return new SafeHtml(BRAND, `<a href="${escapeHtml(url)}"${rel}>${render(content)}</a>`);
}

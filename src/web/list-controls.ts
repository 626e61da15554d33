/** The filter form (a plain GET form) and the "older" link that the list pages share. */

import { html, link, sitePath, type SafeHtml } from './html.js';
import type { FieldValues } from './list-query.js';

/** One field of a filter form: free text, or a choice among options ('' = any). */
export interface FilterField {
  readonly name: string;
  readonly label: string;
  readonly options?: readonly string[];
  readonly placeholder?: string;
}

function input(field: FilterField, value: string | undefined): SafeHtml {
  if (field.options) {
    const options = ['', ...field.options].map(
      (o) => html`<option value="${o}"${o === (value ?? '') ? html` selected` : ''}>${o === '' ? 'any' : o}</option>`,
    );
    return html`<select name="${field.name}">${options}</select>`;
  }
  return html`<input type="text" name="${field.name}" value="${value ?? ''}" placeholder="${field.placeholder ?? ''}" size="16">`;
}

/** A GET form to `/{segment}` holding the fields, filled with the current values. */
export function filterForm(segment: string, fields: readonly FilterField[], values: FieldValues): SafeHtml {
  const labelled = fields.map((f) => html`<label>${f.label} ${input(f, values[f.name])}</label>`);
  return html`<form class="filters" method="get" action="${sitePath([segment])}">${labelled}
<label>limit <input type="text" name="limit" value="${values.limit ?? ''}" placeholder="50" size="4"></label>
<button type="submit">Filter</button> ${link(sitePath([segment]), 'clear')}</form>`;
}

/** The link to the next (older) page: the same filters with the cursor, or a note that this is the end. */
export function olderLink(segment: string, values: FieldValues, nextCursor: string | null): SafeHtml {
  if (nextCursor === null) return html`<p class="muted">No older entries.</p>`;
  return html`<p>${link(sitePath([segment], { ...values, cursor: nextCursor }), 'Older →')}</p>`;
}

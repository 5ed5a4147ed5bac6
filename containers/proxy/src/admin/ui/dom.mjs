// DOM and formatting helpers. Values only ever reach the page as text nodes or
// CSSOM properties (never innerHTML or style attributes), which keeps the page
// safe with server-supplied ids and within the Content-Security-Policy.

/** Creates an element: `props` sets attributes (data-*, aria-*, role, scope, title), `class`, `style` (object) or properties. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'style') Object.assign(el.style, value);
    else if (/^(data-|aria-)|^(role|scope|title|for)$/.test(key)) el.setAttribute(key, String(value));
    else el[key] = value;
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/** A labelled cell; the label shows on phones, where each table row becomes a card. */
export function cell(label, content, className) {
  return h('td', { 'data-label': label, class: className }, content);
}

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export function count(n) {
  return typeof n === 'number' ? integer.format(n) : '–';
}

export function rate(n) {
  if (typeof n !== 'number') return '–';
  return n >= 100 ? integer.format(n) : oneDecimal.format(n);
}

export function ms(n) {
  if (typeof n !== 'number') return '–';
  return n >= 100 ? `${integer.format(n)} ms` : `${oneDecimal.format(n)} ms`;
}

export function percent(fraction) {
  return typeof fraction === 'number' ? `${oneDecimal.format(fraction * 100)}%` : '–';
}

export function usd(n) {
  return typeof n === 'number' ? `$${n.toFixed(2)}` : '–';
}

export function weight(n) {
  return oneDecimal.format(n);
}

/** "12:03:04 (35 s ago)". */
export function when(epochMs, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - epochMs) / 1000));
  const ago = seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
  return `${new Date(epochMs).toLocaleTimeString()} (${ago})`;
}

/** Tableau 10: distinct, and white labels stay readable with a text shadow. */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#bab0ac',
];

/** A colour per server, fixed for the page's lifetime in order of first sight, so a server keeps its colour. */
export function createPalette() {
  const assigned = new Map();
  return (id) => {
    let colour = assigned.get(id);
    if (!colour) {
      colour = PALETTE[assigned.size % PALETTE.length];
      assigned.set(id, colour);
    }
    return colour;
  };
}

/** What {@link measureYaml} tells of a YAML text without parsing it. */
export type YamlShape = {
  /**
   * How deeply the text nests, estimated: enclosing indentation levels, plus `- ` and `? `
   * indicators opening a line, plus open `[` and `{`. Close to the real depth for ordinary
   * documents; a text written to fool it may nest up to about twice as deep.
   */
  nesting: number;
  /** Tokens, roughly: scalars, indicators and brackets, as the parser will meet them. */
  tokens: number;
};

/**
 * Measures a YAML text in one pass, with no recursion, so that a text too deep or too dense for
 * the YAML parser (which recurses on nesting, overflowing its stack at some hundreds of levels,
 * and spends some microseconds per token) can be refused before it is parsed. Quotes, comments
 * and block scalars (`|`, `>`) are skipped as YAML reads them; brackets count only where they
 * open a collection (anywhere inside brackets, at the start of a value outside them).
 * @example measureYaml('a:\n  - [1, [2]]\n') // { nesting: 5, tokens: 9 } (the value nests 4 levels)
 */
export function measureYaml(text: string): YamlShape {
  const indents: number[] = [];
  let nesting = 0;
  let tokens = 0;
  let flow = 0;
  let quote: '"' | "'" | undefined;
  // Inside a block scalar: lines indented more than this belong to it.
  let blockScalar = -1;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let indent = 0;
    while (text[start + indent] === ' ') indent += 1;
    const first = start + indent;
    const blank = first >= end || text[first] === '\r' || text[first] === '#';
    if (blockScalar >= 0 && (blank || indent > blockScalar)) {
      start = end + 1;
      continue;
    }
    blockScalar = -1;
    if (!blank && flow === 0 && quote === undefined) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let compact = 0;
    let atToken = quote === undefined;
    for (let at = first; at < end; at += 1) {
      const char = text[at]!;
      const next = text[at + 1];
      const spaced = next === undefined || next === ' ' || next === '\t' || next === '\r' || next === '\n';
      if (quote === '"') {
        if (char === '\\') at += 1;
        else if (char === '"') quote = undefined;
        continue;
      }
      if (quote === "'") {
        if (char === "'" && next === "'") at += 1;
        else if (char === "'") quote = undefined;
        continue;
      }
      if (char === ' ' || char === '\t') continue;
      if (char === '#' && (at === first || text[at - 1] === ' ' || text[at - 1] === '\t')) break;
      if (atToken && (char === '"' || char === "'")) {
        quote = char;
        tokens += 1;
        atToken = false;
      } else if ((char === '[' || char === '{') && (atToken || flow > 0)) {
        flow += 1;
        tokens += 1;
        atToken = true;
      } else if ((char === ']' || char === '}') && flow > 0) {
        flow -= 1;
        tokens += 1;
        atToken = false;
      } else if (char === ',' && flow > 0) {
        atToken = true;
      } else if ((char === '-' || char === '?') && atToken && flow === 0 && spaced) {
        compact += 1;
        tokens += 1;
      } else if (char === ':' && (spaced || flow > 0)) {
        tokens += 1;
        atToken = true;
      } else if ((char === '|' || char === '>') && atToken && flow === 0) {
        blockScalar = indent;
        tokens += 1;
        break;
      } else if (atToken) {
        tokens += 1;
        atToken = false;
      }
      nesting = Math.max(nesting, indents.length + compact + flow);
    }
    nesting = Math.max(nesting, indents.length + compact + flow);
    start = end + 1;
  }
  return { nesting, tokens };
}

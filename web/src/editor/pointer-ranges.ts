import { ensureSyntaxTree, syntaxTree } from '@codemirror/language';
import type { EditorState } from '@codemirror/state';
import { getJsonPointers } from 'codemirror-json-schema';

type JSONMode = Parameters<typeof getJsonPointers>[1];

export type TextRange = { from: number; to: number };

/**
 * Where a JSON pointer (RFC 6901, as validateDefinition reports them) lies in the editor's text,
 * JSON or YAML. A pointer to a value that is missing (a required field) falls back to its
 * nearest existing ancestor's key, so every error lands on the line it concerns.
 */
export function pointerRanges(state: EditorState, format: 'json' | 'yaml'): (pointer: string) => TextRange {
  // The whole tree, not only the part on screen: errors may point anywhere in the document.
  ensureSyntaxTree(state, state.doc.length, 200);
  const mode: JSONMode = format === 'json' ? 'json4' : 'yaml';
  const pointers = getJsonPointers(state, mode);
  const firstLine = { from: 0, to: state.doc.line(1).to };
  return (pointer) => {
    const parts = pointer.split('/').slice(1);
    for (let length = parts.length; length > 0; length--) {
      const data = pointers.get(`/${parts.slice(0, length).join('/')}`);
      if (!data) continue;
      const exact = length === parts.length;
      // A scalar value is underlined itself; a collection (or a missing child) by its key.
      if (exact && 'valueFrom' in data) {
        const value = valueRange(state, data.valueFrom, data.valueTo);
        const text = state.doc.sliceString(value.from, value.to);
        if (!/^\s*[[{]/.test(text) && !text.includes('\n')) return value;
      }
      if (data.keyTo > data.keyFrom) return keyRange(state, data.keyFrom, data.keyTo);
    }
    return firstLine;
  };
}

/**
 * The value's own range. In JSON mode the pointer map's "value" can be the `:` between key and
 * value: the value is then the syntax node that starts after it.
 */
function valueRange(state: EditorState, from: number, to: number): TextRange {
  if (state.doc.sliceString(from, to).trim() !== ':') return { from, to };
  let start = to;
  while (start < state.doc.length && /\s/.test(state.doc.sliceString(start, start + 1))) start++;
  let node = syntaxTree(state).resolveInner(start, 1);
  while (node.parent && node.parent.from === node.from && !/Property|Pair/.test(node.parent.name)) node = node.parent;
  return { from: node.from, to: node.to };
}

/**
 * A key's range. For an object or array the pointer map holds the whole collection: the key is
 * then the name of the property (JSON) or pair (YAML) that holds it, when there is one.
 */
function keyRange(state: EditorState, from: number, to: number): TextRange {
  const text = state.doc.sliceString(from, to);
  if (!/^\s*[[{]/.test(text) && !text.includes('\n')) return { from, to };
  let node = syntaxTree(state).resolveInner(from, 1);
  while (node.parent && node.parent.from === from && node.to <= to && !/Property|Pair/.test(node.parent.name)) node = node.parent;
  const holder = node.parent && /Property|Pair/.test(node.parent.name) ? node.parent.firstChild : null;
  if (holder && holder.to <= from) return { from: holder.from, to: holder.to };
  return { from, to: state.doc.lineAt(from).to };
}

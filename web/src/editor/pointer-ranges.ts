import { ensureSyntaxTree } from '@codemirror/language';
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
        const value = state.doc.sliceString(data.valueFrom, data.valueTo);
        if (!/^\s*[[{]/.test(value) && !value.includes('\n')) return { from: data.valueFrom, to: data.valueTo };
      }
      if (data.keyTo > data.keyFrom) return { from: data.keyFrom, to: data.keyTo };
    }
    return firstLine;
  };
}

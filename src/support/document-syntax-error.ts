/** The notations a document may be written in. */
export const DOCUMENT_FORMATS = ['JSON', 'YAML'] as const;
/** One of {@link DOCUMENT_FORMATS}. */
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** Where in a text a problem is: both 1-based. */
export type TextPosition = { line: number; column: number };

/**
 * A JSON or YAML text that cannot be read as a document. `message` is
 * `line <l>, column <c>: <reason>` (just `reason` when the position is unknown) and names no
 * source, so callers prefix the file or field it came from.
 */
export class DocumentSyntaxError extends Error {
  constructor(
    readonly format: DocumentFormat,
    /** What is wrong, without the position: `Map keys must be unique`. */
    readonly reason: string,
    readonly position?: TextPosition,
    /** The offending line and a caret under the column, for terminals; absent without a position. */
    readonly excerpt?: string,
  ) {
    super(position ? `line ${position.line}, column ${position.column}: ${reason}` : reason);
    this.name = 'DocumentSyntaxError';
  }
}

/** Whether `err` is a {@link DocumentSyntaxError}. */
export function isDocumentSyntaxError(err: unknown): err is DocumentSyntaxError {
  return err instanceof DocumentSyntaxError;
}

/**
 * dumpAst: the AST as the s-expressions of BuildKit's `Node.Dump()` (one `(keyword ["--flags"] "arg" …)` per line),
 * used for golden tests and `tsbuild parse --dump`. Strings are quoted like Go's strconv.Quote.
 */
import type { Ast, InstructionNode } from "./ast.js";
import { ARG_STYLES } from "./cst-to-ast.js";
import { trimSpace } from "./directives.js";

/** The whole file, exactly as BuildKit's `result.AST.Dump()` prints it (no trailing newline). */
export function dumpAst(ast: Ast): string {
  let out = "";
  for (const node of ast.nodes) out += `(${dumpNode(node)})\n`;
  return trimSpace(out);
}

/** One instruction without the surrounding parentheses. */
export function dumpNode(node: InstructionNode): string {
  let s = node.keyword;
  if (node.flags.length > 0) s += ` [${node.flags.map(goQuote).join(" ")}]`;
  const style = ARG_STYLES.get(node.keyword);
  if (style === undefined) {
    s += ' ""'; // BuildKit keeps an empty argument node for instructions it does not know
  } else if (style === "sub") {
    if (node.nested !== undefined) s += ` (${dumpNode(node.nested)})`;
  } else if (style === "env" || style === "label") {
    const sep = node.legacyKeyValue === true ? "" : "=";
    for (let i = 0; i + 1 < node.args.length; i += 2) {
      s += ` ${goQuote(node.args[i]!)} ${goQuote(node.args[i + 1]!)} ${goQuote(sep)}`;
    }
  } else {
    for (const a of node.args) s += ` ${goQuote(a)}`;
  }
  return trimSpace(s);
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

/** Go's strconv.Quote: printable runes as is, C escapes, `\xNN`, `\uNNNN`, `\UNNNNNNNN` otherwise. */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp < 0x80) out += controlEscape(cp);
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\ufffd"; // a lone surrogate: Go would see U+FFFD
    else if (PRINTABLE.test(ch)) out += ch;
    else out += cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

function controlEscape(cp: number): string {
  switch (cp) {
    case 0x07: return "\\a";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
    case 0x0b: return "\\v";
    default: return `\\x${hex(cp, 2)}`;
  }
}

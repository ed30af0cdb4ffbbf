/**
 * The chevrotain grammar (CstParser) for one logical instruction line, and for the JSON exec form. Rules are typed
 * class properties; grammar bodies have no side effects (chevrotain records them once). One instance is built
 * lazily and reused: setting `input` resets it.
 */
import { ensurePolyfills } from "../util/polyfills.js";
import { CstParser, type CstNode, type IToken } from "chevrotain";
import {
  Colon, Comma, Flag, FlagEnd, JsonLiteral, JsonNumber, JsonString, Keyword, LBracket, LCurly, RBracket, RCurly, Space, Word,
  allTokens,
} from "./tokens.js";

class DockerfileParser extends CstParser {
  /** `Space? Keyword (Space (Flag | FlagEnd))* (Space Word)* Space?` */
  readonly instruction = this.RULE("instruction", () => {
    this.OPTION(() => this.CONSUME(Space));
    this.CONSUME(Keyword);
    this.MANY(() => this.SUBRULE(this.flag));
    this.MANY2(() => this.SUBRULE(this.argument));
    this.OPTION2(() => this.CONSUME3(Space));
  });

  readonly flag = this.RULE("flag", () => {
    this.CONSUME(Space);
    this.OR([{ ALT: () => this.CONSUME(Flag) }, { ALT: () => this.CONSUME(FlagEnd) }]);
  });

  readonly argument = this.RULE("argument", () => {
    this.CONSUME(Space);
    this.CONSUME(Word);
  });

  /** A JSON array (the exec form); its elements may be any JSON value (the AST builder requires strings). */
  readonly jsonArray = this.RULE("jsonArray", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.jsonValue);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.jsonValue);
      });
    });
    this.CONSUME(RBracket);
  });

  readonly jsonValue = this.RULE("jsonValue", () => {
    this.OR([
      { ALT: () => this.CONSUME(JsonString) },
      { ALT: () => this.CONSUME(JsonNumber) },
      { ALT: () => this.CONSUME(JsonLiteral) },
      { ALT: () => this.SUBRULE(this.jsonArray) },
      { ALT: () => this.SUBRULE(this.jsonObject) },
    ]);
  });

  readonly jsonObject = this.RULE("jsonObject", () => {
    this.CONSUME(LCurly);
    this.OPTION(() => {
      this.SUBRULE(this.jsonMember);
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.jsonMember);
      });
    });
    this.CONSUME(RCurly);
  });

  readonly jsonMember = this.RULE("jsonMember", () => {
    this.CONSUME(JsonString);
    this.CONSUME(Colon);
    this.SUBRULE(this.jsonValue);
  });

  constructor(validate: boolean) {
    super(allTokens(), { skipValidations: !validate, maxLookahead: 2 });
    this.performSelfAnalysis();
  }
}

let instance: DockerfileParser | undefined;

function parser(): DockerfileParser {
  ensurePolyfills();
  instance ??= new DockerfileParser(false);
  return instance;
}

/**
 * Builds a throw-away parser with chevrotain's grammar validations on (ambiguities, left recursion); used by tests,
 * since the shared instance skips them to start fast. Throws when the grammar is invalid.
 */
export function validateGrammar(): void {
  ensurePolyfills();
  new DockerfileParser(true);
}

/** Parses instruction tokens; undefined when they do not form an instruction (no keyword). */
export function parseInstructionTokens(tokens: IToken[]): CstNode | undefined {
  const p = parser();
  p.input = tokens;
  const cst = p.instruction() as CstNode | undefined;
  if (cst === undefined) return undefined;
  return p.errors.length === 0 ? cst : undefined;
}

/** Parses JSON tokens as an array; undefined when the text is not one valid JSON array. */
export function parseJsonTokens(tokens: IToken[]): CstNode | undefined {
  const p = parser();
  p.input = tokens;
  const cst = p.jsonArray() as CstNode | undefined;
  if (cst === undefined) return undefined;
  // Chevrotain reports leftover tokens (text after `]`) as NotAllInputParsed: "not JSON", as for Go's decoder.
  return p.errors.length === 0 ? cst : undefined;
}


// The prompt's token ids: the manifest's template with the question in place of `{question}`, bos first.
// The user's text is text: a question that spells `</s>` or `<pad>` gets the ids of those characters, never the
// control token, so only the template itself can hold control tokens. @huggingface/tokenizers has no switch to
// encode without matching added tokens, so a second tokenizer from the same tokenizer.json without its added tokens
// encodes the text around and in the question (the template's text between its nearest control tokens, encoded as
// one piece so word boundaries fall where they did in the whole template), and the full tokenizer the template's
// control tokens.
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelLoadError, QuestionError } from './errors.js';
import type { Manifest } from './manifest.js';

export type PromptManifest = Pick<Manifest, 'promptTemplate' | 'bosId' | 'tokenizer'> & {
  lm: Pick<Manifest['lm'], 'maxPositions'>;
};

const SLOT = '{question}';

export class PromptEncoder {
  /** The full tokenizer (every added token), for decoding answers. */
  readonly tokenizer: Tokenizer;
  private readonly plain: Tokenizer;
  private readonly head: number[];
  private readonly textBefore: string;
  private readonly textAfter: string;
  private readonly tail: number[];

  /** From tokenizer.json's bytes; ModelLoadError when they are not a tokenizer or the template has no `{question}`. */
  constructor(
    tokenizerJson: Uint8Array,
    private readonly manifest: PromptManifest,
  ) {
    let json: { added_tokens?: unknown[] };
    try {
      json = JSON.parse(new TextDecoder().decode(tokenizerJson));
      this.tokenizer = new Tokenizer(json, {});
      this.plain = new Tokenizer({ ...json, added_tokens: [] }, {});
    } catch (e) {
      throw new ModelLoadError(`${manifest.tokenizer} is not a usable tokenizer.json: ${(e as Error).message}`, { cause: e });
    }
    const template = manifest.promptTemplate;
    const slot = template.indexOf(SLOT);
    if (slot < 0) throw new ModelLoadError(`the manifest's promptTemplate has no ${SLOT}: "${template}"`);
    const before = template.slice(0, slot);
    const after = template.slice(slot + SLOT.length);
    const controls = [...this.tokenizer.get_added_tokens_decoder().values()].map((t) => t.content).filter((c) => c.length > 0);
    // The text piece runs from the end of the last control token before the slot to the first one after it.
    const cut = Math.max(0, ...controls.map((c) => (before.includes(c) ? before.lastIndexOf(c) + c.length : 0)));
    const end = Math.min(after.length, ...controls.map((c) => (after.includes(c) ? after.indexOf(c) : after.length)));
    const controlIds = (text: string) => (text ? this.tokenizer.encode(text, { add_special_tokens: false }).ids : []);
    this.head = controlIds(before.slice(0, cut));
    this.textBefore = before.slice(cut);
    this.textAfter = after.slice(0, end);
    this.tail = controlIds(after.slice(end));
  }

  /**
   * The prompt for `question` (trimmed), bos first; QuestionError when it is empty or when the prompt with
   * `visualTokens` visual tokens and up to `maxTokens` answer tokens needs more positions than the model has.
   */
  ids(question: string, visualTokens: number, maxTokens: number): number[] {
    const text = typeof question === 'string' ? question.trim() : '';
    if (!text) throw new QuestionError('the question is empty');
    const body = this.plain.encode(this.textBefore + text + this.textAfter, { add_special_tokens: false }).ids;
    const ids = [...this.head, ...body, ...this.tail];
    const { bosId, lm } = this.manifest;
    if (ids[0] !== bosId) ids.unshift(bosId);
    // The last answer token is never fed back, so it takes no position.
    const needed = visualTokens + ids.length + maxTokens - 1;
    if (needed > lm.maxPositions) {
      throw new QuestionError(
        `the question is too long: its prompt is ${ids.length} tokens; with ${visualTokens} visual tokens and up to ${maxTokens} answer tokens it needs ${needed} positions, but the model has ${lm.maxPositions}`,
      );
    }
    return ids;
  }
}

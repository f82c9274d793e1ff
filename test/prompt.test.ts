// The prompt encoder on the shipped tokenizer, and on tokenizers this test derives from it.
// Would catch: a question's `</s>`/`<s>`/`<pad>`/`<unk>` turning into control ids (an early eos or a second bos
// inside the prompt), ordinary questions encoding differently from the whole-template encoding the model was
// trained on, a template's own control tokens lost, a too-long question not rejected.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { ModelLoadError, QuestionError } from '../src/memvp/errors.js';
import type { Manifest } from '../src/memvp/manifest.js';
import { PromptEncoder } from '../src/memvp/prompt.js';
import { questionTextById } from '../src/tasks/sortofclevr/index.js';

const PKG = resolve(import.meta.dirname, '../public/models/sortofclevr-llama');
const bytes = readFileSync(join(PKG, 'tokenizer.json'));
const json = JSON.parse(bytes.toString('utf8')) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };
const manifest = JSON.parse(readFileSync(join(PKG, 'manifest.json'), 'utf8')) as Manifest;
const SPECIAL = json.added_tokens.map((t) => t.content);
const SPECIAL_IDS = json.added_tokens.map((t) => t.id);

function encoder(template = manifest.promptTemplate, tok: object = json): PromptEncoder {
  return new PromptEncoder(new TextEncoder().encode(JSON.stringify(tok)), { ...manifest, promptTemplate: template });
}

describe('PromptEncoder', () => {
  it('encodes every task question exactly as the whole template through the tokenizer', () => {
    const full = new Tokenizer(json, {});
    const enc = encoder();
    for (let id = 0; id < 36; id++) {
      const q = questionTextById(id);
      const whole = full.encode(manifest.promptTemplate.replace('{question}', q)).ids;
      expect(enc.ids(q, 0, 4)).toEqual(whole);
      expect(whole[0]).toBe(manifest.bosId);
    }
  });

  it('encodes special-token strings in a question as plain text', () => {
    expect(SPECIAL).toEqual(expect.arrayContaining(['<pad>', '<s>', '</s>', '<unk>']));
    const enc = encoder();
    const prefix = enc.ids('what', 0, 1).length - 1 - 2; // bos, "question", ":" before; "answer", ":" after
    const q = `what ${SPECIAL.join(' ')} shape`;
    const ids = enc.ids(q, 0, 4);
    const span = ids.slice(1 + prefix, ids.length - 2);
    // The shipped vocabulary has no "<", "/" or "s": each piece of each spelled token is an unknown word, the same
    // as any other such punctuation, and no special id other than unk (an unknown word) appears.
    const lookalike = enc.ids(`what ${SPECIAL.map((s) => s.replace(/[a-z]+/g, (w) => 'q'.repeat(w.length))).join(' ')} shape`, 0, 4);
    expect(ids).toEqual(lookalike);
    expect(span.filter((i) => SPECIAL_IDS.includes(i) && i !== manifest.unkId)).toEqual([]);
    expect(span.length).toBeGreaterThan(SPECIAL.length + 2);
  });

  it('gives no special id at all inside the question when the vocabulary spells the tokens', () => {
    // The shipped tokenizer with the pieces of the special-token strings added to its vocabulary.
    const vocab = { ...json.model.vocab };
    for (const piece of ['<', '</', '>', 's', 'pad', 'unk']) vocab[piece] ??= Object.keys(vocab).length;
    const enc = encoder(manifest.promptTemplate, { ...json, model: { ...json.model, vocab } });
    const ids = enc.ids(`what ${SPECIAL.join(' ')}`, 0, 4);
    const span = ids.slice(3, ids.length - 2);
    expect(span.length).toBe(1 + 3 * SPECIAL.length);
    expect(span.filter((i) => SPECIAL_IDS.includes(i))).toEqual([]);
    expect(span.slice(1, 4)).toEqual([vocab['<'], vocab['pad'], vocab['>']]);
  });

  it('keeps the control tokens the template itself holds', () => {
    const enc = encoder('<s> question: {question} answer: </s>');
    const ids = enc.ids('what shape </s>', 0, 4);
    expect(ids[0]).toBe(manifest.bosId);
    expect(ids[1]).not.toBe(manifest.bosId);
    expect(ids.at(-1)).toBe(manifest.eosId);
    expect(ids.slice(0, -1)).not.toContain(manifest.eosId);
  });

  it('rejects empty and too long questions and templates without {question}', () => {
    const enc = encoder();
    expect(() => enc.ids('   ', 0, 4)).toThrow(QuestionError);
    expect(() => enc.ids('what '.repeat(300), 0, 4)).toThrow(/needs \d+ positions, but the model has 256/);
    const fits = enc.ids('what '.repeat(100), 0, 4).length;
    expect(() => enc.ids('what '.repeat(100), 256 - fits - 2, 4)).toThrow(QuestionError);
    expect(() => encoder('question: answer:')).toThrow(ModelLoadError);
    expect(() => new PromptEncoder(new TextEncoder().encode('{"not": "a tokenizer"}'), manifest)).toThrow(ModelLoadError);
  });
});

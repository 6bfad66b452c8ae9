import { describe, expect, it } from 'vitest';
import { BoundedStore } from './bounded-store.js';

interface Note {
  id: string;
  text: string;
}

class NoteStore extends BoundedStore<Note> {
  /** The in-place change a store of changing items offers, built on held() and notify(). */
  rename(id: string, text: string): void {
    const note = this.held(id);
    if (!note) return;
    note.text = text;
    this.notify(note);
  }
}

function noteStore(capacity = 10, copy?: (note: Note) => Note): NoteStore {
  return new NoteStore({ capacity, idOf: (note) => note.id, itemName: 'note', copy });
}

const note = (id: string, text = id): Note => ({ id, text });

function throwingPredicate(): boolean {
  throw new Error('bad predicate');
}

describe('BoundedStore', () => {
  it('lists items oldest first and finds one by its id', () => {
    const store = noteStore();
    store.add(note('a'));
    store.add(note('b'));
    expect(store.list().map((n) => n.id)).toEqual(['a', 'b']);
    expect(store.get('b')).toEqual(note('b'));
    expect(store.get('c')).toBeUndefined();
  });

  it('drops the oldest items beyond its capacity', () => {
    const store = noteStore(2);
    for (const id of ['a', 'b', 'c']) store.add(note(id));
    expect(store.list().map((n) => n.id)).toEqual(['b', 'c']);
    expect(store.get('a')).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => noteStore(capacity)).toThrow(RangeError);
    }
  });

  it('forgets every item on clear', () => {
    const store = noteStore();
    store.add(note('a'));
    store.clear();
    expect(store.list()).toEqual([]);
  });

  it('resolves waitFor at once with an item already held', async () => {
    const store = noteStore();
    store.add(note('a'));
    await expect(store.waitFor((n) => n.id === 'a')).resolves.toEqual(note('a'));
  });

  it('resolves waitFor with the first matching item that arrives later, skipping others', async () => {
    const store = noteStore();
    const waiting = store.waitFor((n) => n.text.startsWith('yes'));
    store.add(note('a', 'no'));
    store.add(note('b', 'yes 1'));
    store.add(note('c', 'yes 2'));
    await expect(waiting).resolves.toEqual(note('b', 'yes 1'));
  });

  it('offers an item changed in place to the waiters again', async () => {
    const store = noteStore();
    store.add(note('a', 'draft'));
    const waiting = store.waitFor((n) => n.text === 'final');
    store.rename('a', 'final');
    await expect(waiting).resolves.toEqual(note('a', 'final'));
  });

  it('rejects waitFor after its deadline, naming the items and how many are held', async () => {
    const store = noteStore();
    store.add(note('a'));
    await expect(store.waitFor(() => false, 20)).rejects.toThrow(
      'no note matched within 20 ms (1 message(s) held)',
    );
  });

  it('rejects waitFor with what the predicate throws on an item already held', async () => {
    const store = noteStore();
    store.add(note('a'));
    await expect(store.waitFor(throwingPredicate)).rejects.toThrow('bad predicate');
  });

  it('rejects waitFor with what the predicate throws on an item arriving later', async () => {
    const store = noteStore();
    const waiting = store.waitFor(throwingPredicate);
    store.add(note('a'));
    await expect(waiting).rejects.toThrow('bad predicate');
  });

  it('fails pending and later waitFor calls with the reason once closed', async () => {
    const store = noteStore();
    const pending = store.waitFor(() => false);
    store.close('store closed');
    await expect(pending).rejects.toThrow('store closed');
    await expect(store.waitFor(() => true)).rejects.toThrow('store closed');
  });

  it('hands out the held items themselves when given no copy', () => {
    const store = noteStore();
    const original = note('a');
    store.add(original);
    expect(store.list()[0]).toBe(original);
    expect(store.get('a')).toBe(original);
  });

  it('hands callers and predicates copies when given one, so the record cannot be changed through them', async () => {
    const store = noteStore(10, (n) => ({ ...n }));
    store.add(note('a', 'kept'));
    const listed = store.list()[0];
    if (listed) listed.text = 'changed';
    const got = store.get('a');
    if (got) got.text = 'changed';
    await store.waitFor((n) => {
      n.text = 'changed';
      return true;
    });
    expect(store.get('a')).toEqual(note('a', 'kept'));
  });
});

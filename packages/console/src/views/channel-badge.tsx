import type { ChannelState } from '../api/types.js';
import { stateLabel } from '../format.js';

// A symbol next to the word, so a state never depends on colour alone.
const SYMBOL: Readonly<Record<ChannelState, string>> = {
  pending: '○',
  published: '◐',
  retrying: '↻',
  failed: '✕',
  dead_lettered: '⚠',
  succeeded: '✓',
};

export function ChannelBadge(props: { state: ChannelState; channel?: string }) {
  return (
    <span class={`badge state-${props.state}`} data-state={props.state}>
      <span aria-hidden="true">{SYMBOL[props.state]} </span>
      {props.channel ? <span class="visually-hidden">{props.channel}: </span> : null}
      {stateLabel(props.state)}
    </span>
  );
}

/**
 * The playground's shell: the view switch, and the URL hash as the page's state (one view in the
 * DOM at a time; back/forward move between views and links).
 */
import { readHash, writeHash, VIEWS, type ViewName } from './hash.js';
import { EXAMPLES, ModelView, type ModelState } from './model-view.js';
import { LearnerView } from './learner-view.js';
import { MoonsView } from './moons-view.js';
import { h } from './dom.js';

interface View {
  readonly root: HTMLElement;
  destroy(): void;
}

const app = document.getElementById('app')!;
const nav = document.getElementById('views')!;
const LABELS: Record<ViewName, string> = { model: 'Model', learner: 'The learner\'s network', moons: 'Moons' };

let current: { name: ViewName; view: View } | null = null;
/** The model view's last state, so that coming back to it restores the model. */
let modelHash = '';
/** The hash this page wrote last (a hashchange to it is our own). */
let written = '';

const links = new Map<ViewName, HTMLAnchorElement>();
for (const name of VIEWS) {
  const a = h('a', { href: `#view=${name}`, 'data-testid': `view-${name}` }, LABELS[name]);
  links.set(name, a);
  nav.append(a);
}

function defaultModel(): ModelState {
  const e = EXAMPLES[0]!;
  return { expr: e.expr, at: new Map(Object.entries(e.at)), manual: new Map() };
}

function open(hash: string): void {
  const state = readHash(hash);
  current?.view.destroy();
  let view: View;
  if (state.view === 'model') {
    const initial: ModelState = state.expr === undefined && state.at.size === 0 && state.manual.size === 0
      ? defaultModel()
      : { expr: state.expr ?? '', at: state.at, manual: state.manual };
    view = new ModelView({
      initial,
      linkErrors: state.errors,
      onState: (s) => {
        modelHash = writeHash({ view: 'model', expr: s.expr, at: s.at, manual: s.manual });
        links.get('model')!.href = modelHash;
        if (location.hash !== modelHash) {
          written = modelHash;
          history.replaceState(null, '', modelHash);
        }
      },
    });
  } else {
    view = state.view === 'learner' ? new LearnerView() : new MoonsView();
    for (const message of state.errors) view.root.prepend(h('div', { class: 'error', 'data-testid': 'link-error' }, message));
  }
  current = { name: state.view, view };
  app.replaceChildren(view.root);
  document.body.dataset.view = state.view;
  for (const [name, a] of links) {
    if (name === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

window.addEventListener('hashchange', () => {
  if (location.hash === written) return;
  open(location.hash);
});

document.getElementById('copy-link')!.addEventListener('click', () => {
  const status = document.getElementById('copy-status')!;
  navigator.clipboard.writeText(location.href).then(
    () => { status.textContent = 'Link copied'; },
    () => { status.textContent = location.href; }, // no clipboard access: show it to copy by hand
  );
});

open(location.hash);

"""The chapter corpus: generated text whose best possible loss is known exactly.

Chapters 5 (RNNs and language models) and 4 (transformers) train character-level
models on text drawn from :class:`CharSource`, and compare every validation loss
with the *entropy rate* of the source: the cross-entropy, in nats per character,
of the best possible predictor. No model can beat it; a model that reaches it has
learnt everything there is to learn.

What the text looks like
------------------------
A text is a sequence of sentences. A sentence opens with a *topic word* (``sea``,
``fire``, ``wood`` or ``sky``, equally likely), then continues with a geometric
number of made-up words (5 on average), separated by spaces, and ends with
``". "``. Here are the first characters of ``make_source().sample(300, rng=3)``::

    fire te ta kidi ke pa kavu ro rezedeke. fire petaze kugusu riri palapara. wood
    gibi gaka. sky fede. fire ruriri. sea mo lonokeme sa naga. sky luda. fire papa
    pa pelebe resede ti pede pini rapa ru roso rofotera puluguvu ko pobo. sea ...

* **Words** have 1, 2, 3 or 4 syllables (probabilities 0.3, 0.4, 0.2, 0.1); a
  syllable is a consonant then a vowel.
* **Alliteration carries the topic.** Every word of a sentence starts with one of
  its topic's four *initials* (``sea``: l m n s, ``fire``: k t r p, ``wood``:
  b d g v, ``sky``: f z l s; ``sky`` and ``sea`` share l and s). All other
  consonants are uniform over the 14 consonants, so nothing else in a word tells
  the topic.
* **Vowel harmony** is the local structure: the first vowel of a word is uniform,
  each later one repeats the previous vowel with probability 0.7 (else uniform).

So predicting the first letter of a word needs the topic, set by the topic word or
by earlier initials, often tens of characters back. An n-gram model with a small
n cannot see that far and must spread its bet over all 14 initials; an LSTM or a
transformer can carry the topic to the end of the sentence and bet on four. Vowel
harmony, three characters long, is what a 3- or 4-gram model *can* learn.

The numbers, on :func:`load_corpus` (200k training characters): the entropy rate
is 1.417 nats (2.045 bits) per character; interpolated Kneser-Ney n-grams reach
2.85, 2.00, 1.69, 1.64, 1.67, 1.74 nats on the validation text for n = 1..6, so
the best n-gram stays 0.22 nats above the optimum.

Why the entropy rate is known exactly
-------------------------------------
The source is a probabilistic automaton with states ``s`` (the sentence start,
the letters of the topic word so far, then (topic, syllables so far, consonant or
vowel next), and "after the period"). A state ``s`` emits character ``x`` with
probability ``E[s, x]`` and moves to the state ``delta(s, x)``. The automaton is
**unifilar**: the next state is a *deterministic* function of the current state
and the emitted character. So, from the known start state, the text
``x_1 .. x_t`` determines the state ``s_t`` (see :meth:`CharSource.states_along`),
and the chain rule gives

    H(X_{t+1} | X_1..X_t) = H(X_{t+1} | S_t) = sum_s P(S_t = s) H(E[s, :]).

As t grows, ``P(S_t = s)`` tends (in Cesàro mean) to the stationary distribution
``pi`` of the state chain ``P[s, s'] = sum_{x: delta(s, x) = s'} E[s, x]``, the
solution of ``pi P = pi``, ``sum(pi) = 1``. Hence the entropy rate is exactly

    H = lim_t H(X_{t+1} | X_1..X_t) = sum_s pi(s) H(E[s, :])    (nats per character).

For a *non*-unifilar hidden Markov model the past text does not pin down the
state, only a posterior "belief" over states, and the entropy rate is an integral
over the distribution of those beliefs (Blackwell, 1957): it has no closed form
and can only be estimated.

Why not a trie of real words
----------------------------
Walking a trie of a fixed word list would also be unifilar, but real words are so
predictable letter by letter that reaching ~1.4 nats per character needs thousands
of words per topic, which 200,000 characters of training text cannot teach. Here a
topic's vocabulary is *every* word of 1 to 4 syllables with one of its initials,
with probabilities that factor over syllables; the trie of that vocabulary
collapses to 37 states per topic (syllables so far x last vowel). With the topic
word's trie, the sentence start and "after the period", the automaton has 163
states and 23 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dlbook.seeding import make_rng

VOWELS = "aeiou"  # every syllable is one consonant then one vowel
CONSONANTS = "bdfgklmnprstvz"  # the consonants words are made of


@dataclass(frozen=True)
class Topic:
    """A topic: the word that opens its sentences and the letters its words start with."""

    word: str  # the sentence's first word, which names the topic
    initials: str  # the consonants that start every word of the topic's sentences


# The four topics. The initials of sea and sky overlap, so a word starting with l or s
# leaves the reader unsure between them: the topic word settles it.
TOPICS: tuple[Topic, ...] = (
    Topic("sea", initials="lmns"),
    Topic("fire", initials="ktrp"),
    Topic("wood", initials="bdgv"),
    Topic("sky", initials="fzls"),
)


@dataclass(frozen=True)
class SourceConfig:
    """The knobs of the chapter's source. The defaults give 1.417 nats per character."""

    topics: tuple[Topic, ...] = TOPICS  # the topics, chosen uniformly at each sentence start
    harmony: float = 0.7  # P(a vowel copies the previous vowel of its word), else uniform
    syllables: tuple[float, ...] = (0.3, 0.4, 0.2, 0.1)  # P(word has 1, 2, 3, 4 syllables)
    mean_words: float = 5.0  # mean number of words after the topic word (geometric, >= 1)


@dataclass(frozen=True, eq=False)
class CharSource:
    """A unifilar probabilistic automaton over characters (see the module docstring).

    State ``s`` emits character ``alphabet[x]`` with probability ``emit[s, x]`` and
    then moves to ``next_state[s, x]`` (``-1`` where ``emit[s, x] == 0``).
    """

    alphabet: str  # the characters, in index order
    states: tuple[str, ...]  # a readable name per state, e.g. "sea/2o" (see _add_words)
    emit: np.ndarray  # (S, A) emission probabilities, rows sum to 1
    next_state: np.ndarray  # (S, A) int64, the state after emitting each character
    start: int  # the state at the start of every sentence
    state_topic: np.ndarray  # (S,) topic index, once the text so far determines it, else -1
    config: SourceConfig = field(default_factory=SourceConfig)  # how the tables were built

    def __post_init__(self) -> None:
        _check_automaton(self.alphabet, self.emit, self.next_state)
        for arr in (self.emit, self.next_state, self.state_topic):
            arr.setflags(write=False)

    def __repr__(self) -> str:
        return (
            f"CharSource(alphabet={self.alphabet!r}, states={len(self.states)}, "
            f"entropy_rate={self.entropy_rate():.4f} nats/char)"
        )

    @property
    def n_states(self) -> int:
        """Number of states S of the automaton."""
        return len(self.states)

    def transition_matrix(self) -> np.ndarray:
        """``P[s, s'] = sum of emit[s, x] over the characters x that lead from s to s'``."""
        S, A = self.emit.shape  # states, alphabet size
        P = np.zeros((S, S))
        rows = np.repeat(np.arange(S), A)  # (S*A,)
        cols = self.next_state.ravel()
        ok = cols >= 0
        np.add.at(P, (rows[ok], cols[ok]), self.emit.ravel()[ok])
        return P

    def stationary_distribution(self) -> np.ndarray:
        """The ``pi`` with ``pi P = pi`` and ``sum(pi) = 1``, by one linear solve.

        ``(P^T - I) pi = 0`` has rank S-1 for an irreducible chain; replacing its last
        equation by ``sum(pi) = 1`` makes the system square and non-singular.
        """
        P = self.transition_matrix()
        A = P.T - np.eye(self.n_states)
        A[-1, :] = 1.0
        b = np.zeros(self.n_states)
        b[-1] = 1.0
        pi = np.linalg.solve(A, b)
        return np.clip(pi, 0.0, None) / np.clip(pi, 0.0, None).sum()

    def conditional_entropy_given_state(self, unit: str = "nats") -> np.ndarray:
        """``H(X | S = s) = -sum_x emit[s, x] log emit[s, x]`` for every state, shape (S,)."""
        p = self.emit
        logp = np.log(np.where(p > 0, p, 1.0))  # 0 log 0 = 0
        return -(p * logp).sum(axis=1) / _unit_scale(unit)

    def entropy_rate(self, unit: str = "nats") -> float:
        """Exact entropy rate ``H = sum_s pi(s) H(X | S = s)``, per character."""
        return float(self.stationary_distribution() @ self.conditional_entropy_given_state(unit))

    def encode(self, text: str) -> np.ndarray:
        """Character indices of ``text`` in :attr:`alphabet`, shape (len(text),)."""
        return _encode(text, self.alphabet)

    def states_along(self, text: str, start: int | None = None) -> np.ndarray:
        """The states ``s_0 .. s_n`` visited while emitting ``text``, shape (n + 1,).

        Unique because the source is unifilar: ``s_{t+1} = next_state[s_t, x_{t+1}]``.
        Raises ``ValueError`` if the source can never emit ``text`` from ``start``.
        """
        states, n_ok = self._walk(self.encode(text), start)
        if n_ok < len(text):
            s = self.states[states[n_ok]]
            raise ValueError(
                f"The source can never emit {text[n_ok]!r} at position {n_ok} of the text "
                f"(state {s!r}): the text {text[max(0, n_ok - 20) : n_ok + 1]!r}... "
                "is impossible under this source."
            )
        return states

    def log_prob(self, text: str, start: int | None = None) -> float:
        """Exact ``log P(text)`` in nats, starting from ``start`` (default: a sentence start).

        ``-log_prob(text) / len(text)`` tends to :meth:`entropy_rate` as the text grows
        (Shannon-McMillan-Breiman). Returns ``-inf`` for a text the source cannot emit.
        """
        ids = self.encode(text)
        states, n_ok = self._walk(ids, start)
        if n_ok < len(ids):
            return float("-inf")
        return float(np.log(self.emit[states[:-1], ids]).sum())

    def sample(
        self, n_chars: int, rng: np.random.Generator | int, *, return_states: bool = False
    ) -> str | tuple[str, np.ndarray]:
        """Draw ``n_chars`` characters of one stream, starting at a sentence start.

        Every sentence restarts the automaton in :attr:`start`, so sentences are
        independent: we run a block of them side by side, one character per step,
        all in NumPy. With ``return_states=True`` also returns the state that
        emitted each character, shape (n_chars,). The same ``rng`` seed gives the
        same text, and a shorter sample is a prefix of a longer one.
        """
        n = _check_count(n_chars, "n_chars", minimum=1)
        rng = make_rng(rng)
        chars, states, total = [], [], 0
        while total < n:
            c, s = self._sample_sentences(_BLOCK, rng)
            chars.append(c)
            states.append(s)
            total += len(c)
        ids = np.concatenate(chars)[:n]
        table = np.frombuffer(self.alphabet.encode("ascii"), dtype=np.uint8)
        text = table[ids].tobytes().decode("ascii")
        return (text, np.concatenate(states)[:n]) if return_states else text

    def _sample_sentences(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``m`` whole sentences, concatenated: character ids and emitting states."""
        cdf = np.cumsum(self.emit, axis=1)  # (S, A)
        last = (self.emit > 0).cumsum(axis=1) == (self.emit > 0).sum(axis=1, keepdims=True)
        cdf[last] = 1.0  # exact 1 from the last possible character on: no round-off escape
        state = np.full(m, self.start)  # (m,) one automaton per sentence
        alive = np.ones(m, dtype=bool)
        chars, states, alives = [], [], []
        while alive.any():
            u = rng.random(m)  # (m,)
            x = (cdf[state] <= u[:, None]).sum(axis=1)  # (m,) inverse-CDF draw
            chars.append(x)
            states.append(state)
            alives.append(alive)
            state = self.next_state[state, x]
            alive = alive & (state != self.start)  # back at the start: sentence over
            state = np.where(alive, state, self.start)
        keep = np.stack(alives, axis=1)  # (m, L), row-major = sentence after sentence
        return np.stack(chars, axis=1)[keep], np.stack(states, axis=1)[keep]

    def _walk(self, ids: np.ndarray, start: int | None) -> tuple[np.ndarray, int]:
        """States along ``ids``, and how many characters could be emitted (all, if possible)."""
        s = self.start if start is None else _check_count(start, "start", minimum=0)
        if s >= self.n_states:
            raise ValueError(f"start must be a state index in [0, {self.n_states}), got {s}.")
        nxt = self.next_state.tolist()  # plain lists: a Python loop over them is fast
        states = [s]
        for t, x in enumerate(ids.tolist()):
            s = nxt[s][x]
            if s < 0:
                return np.array(states, dtype=np.int64), t
            states.append(s)
        return np.array(states, dtype=np.int64), len(ids)


_BLOCK = 512  # sentences drawn side by side per block; fixed, so samples are prefixes


def make_source(config: SourceConfig | None = None) -> CharSource:
    """Build the chapter's :class:`CharSource` from ``config`` (default: the book's).

    There is no randomness here: the tables follow from the config, which is
    written out in full above, so every reader gets the same source.

    >>> make_source()
    CharSource(alphabet='abdefgiklmnoprstuvwyz .', states=163, entropy_rate=1.4172 nats/char)
    """
    cfg = SourceConfig() if config is None else config
    _check_config(cfg)
    builder = _Builder(alphabet=_alphabet(cfg.topics))
    start = builder.state("^")  # a sentence starts here
    after_period = builder.state(".")
    topic_starts = [builder.state(f"{t.word}/0", topic=i) for i, t in enumerate(cfg.topics)]
    builder.add_trie(start, [t.word for t in cfg.topics], topic_starts)
    builder.edge(after_period, " ", 1.0, start)
    for i, topic in enumerate(cfg.topics):
        _add_words(builder, cfg, i, topic, topic_starts[i], after_period)
    return builder.build(start, cfg)


def _add_words(
    b: _Builder, cfg: SourceConfig, i: int, topic: Topic, first: int, after_period: int
) -> None:
    """The word states of one topic, named ``<topic>/<k><v>`` and ``<topic>/<k><v>+``.

    ``sea/2o``: two syllables of the current word emitted, the last vowel was ``o``;
    next comes a consonant or the end of the word. ``sea/2o+``: the consonant of the
    third syllable is out, its vowel comes next. ``sea/0`` (= ``first``) starts a word.
    """
    K, w, q = len(cfg.syllables), topic.word, 1.0 / cfg.mean_words
    tail = np.cumsum(cfg.syllables[::-1])[::-1]  # tail[k-1] = P(L >= k)
    after = {(k, v): b.state(f"{w}/{k}{v}", i) for k in range(1, K + 1) for v in VOWELS}
    vowel_next = {(k, v): b.state(f"{w}/{k}{v}+", i) for k in range(1, K) for v in VOWELS}
    initial = b.state(f"{w}/0+", i)  # the first consonant is out, the first vowel comes next
    for ch in topic.initials:  # alliteration: the topic picks the first letter
        b.edge(first, ch, 1.0 / len(topic.initials), initial)
    for v in VOWELS:
        b.edge(initial, v, 1.0 / len(VOWELS), after[(1, v)])
    for (k, v), s in after.items():
        stop = cfg.syllables[k - 1] / tail[k - 1] if tail[k - 1] > 0 else 1.0  # P(L=k | L>=k)
        if k < K and stop < 1:
            for ch in CONSONANTS:
                b.edge(s, ch, (1.0 - stop) / len(CONSONANTS), vowel_next[(k, v)])
        if stop > 0:
            b.edge(s, " ", stop * (1.0 - q), first)
            b.edge(s, ".", stop * q, after_period)
    for (k, v), s in vowel_next.items():
        for u in VOWELS:  # vowel harmony: repeat the previous vowel, or draw any
            p = cfg.harmony * (u == v) + (1.0 - cfg.harmony) / len(VOWELS)
            b.edge(s, u, p, after[(k + 1, u)])


def _alphabet(topics: tuple[Topic, ...]) -> str:
    """Sorted letters of the words and topic words, then space and period."""
    letters = set(CONSONANTS + VOWELS + "".join(t.word for t in topics))
    return "".join(sorted(letters)) + " ."


class _Builder:
    """Collects named states and edges (state, char, prob, next state) into tables."""

    def __init__(self, alphabet: str) -> None:
        self.alphabet = alphabet
        self.names: list[str] = []
        self.topics: list[int] = []
        self.edges: dict[tuple[int, str], tuple[float, int]] = {}

    def state(self, name: str, topic: int = -1) -> int:
        self.names.append(name)
        self.topics.append(topic)
        return len(self.names) - 1

    def edge(self, src: int, ch: str, p: float, dst: int) -> None:
        if (src, ch) in self.edges:  # would break unifilarity: refuse at build time
            raise ValueError(f"State {self.names[src]!r} already has an edge for {ch!r}.")
        self.edges[(src, ch)] = (p, dst)

    def add_trie(self, root: int, words: list[str], leaves: list[int]) -> None:
        """Edges spelling each word from ``root``; after the last letter, a space to its leaf."""
        nodes = {"": root}
        for w in words:
            for j in range(1, len(w) + 1):
                if w[:j] not in nodes:  # the topic is known once only one word fits the prefix
                    fits = [i for i, v in enumerate(words) if v.startswith(w[:j])]
                    nodes[w[:j]] = self.state("^" + w[:j], fits[0] if len(fits) == 1 else -1)
        for prefix, node in nodes.items():
            below = [w for w in words if w.startswith(prefix)]
            for ch in sorted({w[len(prefix)] for w in below if len(w) > len(prefix)}):
                share = sum(w.startswith(prefix + ch) for w in below) / len(below)
                self.edge(node, ch, share, nodes[prefix + ch])
        for w, leaf in zip(words, leaves, strict=True):
            self.edge(nodes[w], " ", 1.0, leaf)

    def build(self, start: int, cfg: SourceConfig) -> CharSource:
        S, A = len(self.names), len(self.alphabet)
        emit = np.zeros((S, A))
        nxt = np.full((S, A), -1, dtype=np.int64)
        for (src, ch), (p, dst) in self.edges.items():
            emit[src, self.alphabet.index(ch)] = p
            nxt[src, self.alphabet.index(ch)] = dst
        return CharSource(
            alphabet=self.alphabet,
            states=tuple(self.names),
            emit=emit,
            next_state=nxt,
            start=start,
            state_topic=np.array(self.topics, dtype=np.int64),
            config=cfg,
        )


@dataclass(frozen=True, eq=False)
class Corpus:
    """Train / validation / test text from three independent streams of one source."""

    train: str  # text the model learns from
    val: str  # held-out text for choosing hyperparameters and early stopping
    test: str  # held-out text, looked at once, at the end
    alphabet: str  # every character the texts can contain, in index order
    source: CharSource  # the automaton that wrote the texts
    entropy_rate: float  # the best possible loss, nats per character

    def source_loss(self, part: str = "val") -> float:
        """``-log P(text) / len(text)`` under the source itself, for ``part`` of the corpus.

        The entropy rate is its expectation; on a finite text the two differ by
        sampling noise (about 0.01 nats for 20,000 characters). A model's loss on
        the same text is best compared with this number.
        """
        texts = {"train": self.train, "val": self.val, "test": self.test}
        if part not in texts:
            raise ValueError(f"part must be 'train', 'val' or 'test', got {part!r}.")
        return -self.source.log_prob(texts[part]) / len(texts[part])

    def __repr__(self) -> str:
        return (
            f"Corpus(train={len(self.train):,} chars, val={len(self.val):,}, "
            f"test={len(self.test):,}, alphabet={len(self.alphabet)} chars, "
            f"entropy_rate={self.entropy_rate:.4f} nats/char)"
        )


def load_corpus(
    n_train: int = 200_000, n_val: int = 20_000, n_test: int = 20_000, seed: int = 0
) -> Corpus:
    """Sample the chapter corpus from :func:`make_source`.

    The three parts come from three independent streams (``SeedSequence(seed).spawn(3)``),
    each starting at a sentence start, so validation and test text are truly
    held out: a model that memorises the training text shows a train/val gap.
    Deterministic in ``seed``; a smaller ``n_train`` gives a prefix of the larger one.

    >>> c = load_corpus(n_train=1000, n_val=100, n_test=100)
    >>> len(c.train), len(c.val), len(c.test)
    (1000, 100, 100)
    """
    sizes = [
        _check_count(n_train, "n_train", 1),
        _check_count(n_val, "n_val", 1),
        _check_count(n_test, "n_test", 1),
    ]
    seed = _check_count(seed, "seed", minimum=0)
    source = make_source()
    streams = np.random.SeedSequence(seed).spawn(3)
    train, val, test = (
        source.sample(n, np.random.default_rng(ss)) for n, ss in zip(sizes, streams, strict=True)
    )
    return Corpus(train, val, test, source.alphabet, source, source.entropy_rate())


def _unit_scale(unit: str) -> float:
    if unit == "nats":
        return 1.0
    if unit == "bits":
        return float(np.log(2.0))
    raise ValueError(f"unit must be 'nats' or 'bits', got {unit!r}.")


def _check_count(n: object, name: str, minimum: int) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__} {n!r}.")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}.")
    return int(n)


def _encode(text: str, alphabet: str) -> np.ndarray:
    """Indices of the characters of ``text`` in ``alphabet``; unknown characters are named."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}.")
    table = np.full(128, -1, dtype=np.int64)
    table[np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)] = np.arange(len(alphabet))
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ids = np.where(codes < 128, table[np.minimum(codes, 127)], -1)
    if (ids < 0).any():
        bad = sorted({text[i] for i in np.flatnonzero(ids < 0)[:1000]})
        raise ValueError(
            f"text contains character(s) {bad} that are not in the alphabet {alphabet!r}."
        )
    return ids


def _check_automaton(alphabet: str, emit: np.ndarray, nxt: np.ndarray) -> None:
    """Rows are distributions, and a character has a next state exactly when it can be emitted."""
    if not alphabet.isascii() or len(set(alphabet)) != len(alphabet):
        raise ValueError(f"alphabet must be distinct ASCII characters, got {alphabet!r}.")
    if emit.shape != nxt.shape or emit.shape[1] != len(alphabet):
        raise ValueError(
            f"emit {emit.shape} and next_state {nxt.shape} must both have shape "
            f"(n_states, {len(alphabet)})."
        )
    if not np.allclose(emit.sum(axis=1), 1.0) or (emit < 0).any():
        raise ValueError("Every row of emit must be a probability distribution over the alphabet.")
    if ((emit > 0) != (nxt >= 0)).any() or (nxt >= len(emit)).any():
        raise ValueError("next_state must name a state exactly where emit is positive.")


def _check_config(cfg: SourceConfig) -> None:
    words = [t.word for t in cfg.topics]
    if not words:
        raise ValueError("A source needs at least one topic.")
    if len(set(words)) != len(words) or any(
        a != b and b.startswith(a) for a in words for b in words
    ):
        raise ValueError(f"Topic words must be distinct and none a prefix of another: {words}.")
    for t in cfg.topics:
        if (
            not t.initials
            or len(set(t.initials)) != len(t.initials)
            or set(t.initials) - set(CONSONANTS)
        ):
            raise ValueError(
                f"Topic {t.word!r}: initials must be distinct letters of {CONSONANTS!r}, "
                f"got {t.initials!r}."
            )
        if not t.word.isascii() or not t.word.isalpha() or not t.word.islower():
            raise ValueError(f"A topic word must be lowercase ASCII letters, got {t.word!r}.")
    if not np.isclose(sum(cfg.syllables), 1.0) or min(cfg.syllables) < 0:
        raise ValueError(f"syllables must be probabilities summing to 1, got {cfg.syllables}.")
    if cfg.mean_words < 1 or not 0 <= cfg.harmony <= 1:
        raise ValueError(
            f"Need mean_words >= 1 and 0 <= harmony <= 1, got {cfg.mean_words} and {cfg.harmony}."
        )

"""scipy objects, statsmodels and gensim ``.save()`` files, nltk objects and spaCy ``Doc``s, as users pickle them."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from tests.corpus.cases import SCIENCE, Artifact, calls_equal, group


def _pickle_to(path: Path, obj: Any) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    return path


SCIPY = ("frozen-norm", "frozen-gamma", "frozen-poisson", "interp1d", "cubic-spline", "regular-grid-interpolator",
         "kdtree", "ckdtree", "rotation", "sparse-csr", "optimize-result")


@group("scipy", family=SCIENCE, library="scipy", labels=SCIPY)
def build_scipy(directory: Path) -> dict[str, Artifact]:
    import numpy as np
    from scipy import interpolate, optimize, sparse, spatial, stats
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 8)
    points = rng.random((20, 2))
    probe = np.array([[0.3, 0.4], [0.9, 0.1]])
    objects: dict[str, tuple[Any, Any]] = {
        "frozen-norm": (stats.norm(0.5, 2.0), calls_equal(lambda d: d.cdf([0.0, 1.0]))),
        "frozen-gamma": (stats.gamma(2.0, scale=3.0), calls_equal(lambda d: d.pdf([1.0, 2.0]))),
        "frozen-poisson": (stats.poisson(3.0), calls_equal(lambda d: d.pmf([1, 2]))),
        "interp1d": (interpolate.interp1d(x, x ** 2), calls_equal(lambda f: f([0.25, 0.5]))),
        "cubic-spline": (interpolate.CubicSpline(x, np.sin(x)), calls_equal(lambda f: f([0.25, 0.5]))),
        "regular-grid-interpolator": (interpolate.RegularGridInterpolator((x, x), np.outer(x, x)),
                                      calls_equal(lambda f: f(probe))),
        "kdtree": (spatial.KDTree(points), calls_equal(lambda t: t.query(probe))),
        "ckdtree": (spatial.cKDTree(points), calls_equal(lambda t: t.query(probe))),
        "rotation": (Rotation.from_euler("xyz", [10, 20, 30], degrees=True), calls_equal(lambda r: r.as_quat())),
        "sparse-csr": (sparse.random(5, 5, density=0.3, format="csr", random_state=0),
                       calls_equal(lambda m: m.toarray())),
        "optimize-result": (optimize.minimize(lambda v: float(((v - 1.0) ** 2).sum()), np.zeros(2),
                                              method="BFGS").x, None),
    }
    return {label: Artifact(_pickle_to(directory / f"{label}.pkl", obj), "pickle", check=check)
            for label, (obj, check) in objects.items()}


STATSMODELS = ("ols-results", "logit-results", "arima-results", "glm-results", "ets-results")


@group("statsmodels", family=SCIENCE, library="statsmodels", labels=STATSMODELS)
def build_statsmodels(directory: Path) -> dict[str, Artifact]:
    import numpy as np
    import statsmodels.api as sm
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(0)
    x = sm.add_constant(rng.random((40, 2)))
    y = x @ np.array([1.0, 2.0, -1.0]) + rng.normal(0, 0.1, 40)
    series = np.cumsum(rng.normal(size=48)) + 10
    results = {
        "ols-results": sm.OLS(y, x).fit(),
        "logit-results": sm.Logit((y + rng.normal(0, 1, 40) > y.mean()).astype(float), x).fit(disp=0),
        "arima-results": ARIMA(series, order=(1, 0, 0)).fit(),
        "glm-results": sm.GLM(y, x, family=sm.families.Gaussian()).fit(),
        "ets-results": ExponentialSmoothing(series, trend="add").fit(),
    }
    out = {}
    for label, res in results.items():
        path = directory / f"{label}.pickle"
        res.save(str(path))  # statsmodels' own save: a pickle, read back with sm.load / load_pickle
        out[label] = Artifact(path, "pickle", check=calls_equal(lambda r: np.asarray(r.params)))
    return out


GENSIM = ("word2vec.model", "keyedvectors.kv", "dictionary.dict", "lda.model", "lda.model.state",
          "lda.model.id2word", "tfidf.model", "doc2vec.model", "fasttext.model")


@group("gensim", family=SCIENCE, library="gensim", labels=GENSIM)
def build_gensim(directory: Path) -> dict[str, Artifact]:
    from gensim.corpora import Dictionary
    from gensim.models import Doc2Vec, FastText, LdaModel, TfidfModel, Word2Vec
    from gensim.models.doc2vec import TaggedDocument

    sentences = [["safe", "load", "model"], ["scan", "the", "model", "file"], ["load", "the", "safe", "file"]] * 3
    w2v = Word2Vec(sentences, vector_size=8, min_count=1, epochs=2, workers=1, seed=0)
    dictionary = Dictionary(sentences)
    bow = [dictionary.doc2bow(s) for s in sentences]
    saved = {
        "word2vec.model": w2v, "keyedvectors.kv": w2v.wv, "dictionary.dict": dictionary,
        "lda.model": LdaModel(bow, num_topics=2, id2word=dictionary, passes=1, random_state=0),
        "tfidf.model": TfidfModel(bow),
        "doc2vec.model": Doc2Vec([TaggedDocument(s, [i]) for i, s in enumerate(sentences)], vector_size=8,
                                 min_count=1, epochs=2, workers=1, seed=0),
        "fasttext.model": FastText(sentences, vector_size=8, min_count=1, epochs=1, workers=1, seed=0,
                                   bucket=100),
    }
    out = {}
    for label, obj in saved.items():
        obj.save(str(directory / label))  # gensim's SaveLoad.save: a pickle (+ companions for some models)
    for label in GENSIM:
        path = directory / label
        assert path.exists(), sorted(p.name for p in directory.iterdir())
        out[label] = Artifact(path, "pickle", check=_gensim_equal)
    return out


def _gensim_equal(real: Any, safe: Any) -> None:
    import numpy as np

    for name in ("vectors", "token2id", "id2word", "idfs", "sstats"):
        a, b = getattr(real, name, None), getattr(safe, name, None)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b), name
        elif a is not None:
            assert a == b, name
    assert sorted(vars(real)) == sorted(vars(safe))


NLTK = ("porter-stemmer", "snowball-stemmer", "wordnet-lemmatizer", "freqdist", "conditional-freqdist", "tree",
        "naive-bayes", "punkt-tokenizer", "regexp-tokenizer", "treebank-tokenizer", "lm-mle", "perceptron-tagger")


@group("nltk", family=SCIENCE, library="nltk", labels=NLTK)
def build_nltk(directory: Path) -> dict[str, Artifact]:
    import nltk
    from nltk.classify import NaiveBayesClassifier
    from nltk.lm import MLE
    from nltk.lm.preprocessing import padded_everygram_pipeline
    from nltk.probability import ConditionalFreqDist, FreqDist
    from nltk.stem import PorterStemmer, SnowballStemmer, WordNetLemmatizer
    from nltk.tag.perceptron import PerceptronTagger
    from nltk.tokenize import RegexpTokenizer, TreebankWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTrainer

    words = "the model is safe . the scan found nothing . load the safe model now .".split()
    text = "Dr. Smith loaded the model. It was safe. The scan took 2.5 s. Mr. Jones agreed."
    trainer = PunktTrainer()
    trainer.train(text * 5, finalize=True)
    lm = MLE(2)
    train, vocab = padded_everygram_pipeline(2, [words])
    lm.fit(train, vocab)
    tagger = PerceptronTagger(load=False)
    tagger.train([[("the", "DT"), ("model", "NN"), ("is", "VBZ"), ("safe", "JJ")]] * 3, nr_iter=2)
    objects: dict[str, tuple[Any, Any]] = {
        "porter-stemmer": (PorterStemmer(), calls_equal(lambda s: s.stem("loading"))),
        "snowball-stemmer": (SnowballStemmer("english"), calls_equal(lambda s: s.stem("loading"))),
        "wordnet-lemmatizer": (WordNetLemmatizer(), None),
        "freqdist": (FreqDist(words), None),
        "conditional-freqdist": (ConditionalFreqDist((len(w), w) for w in words), calls_equal(dict)),
        "tree": (nltk.Tree("S", [nltk.Tree("NP", ["the", "model"]), nltk.Tree("VP", ["is", "safe"])]), None),
        "naive-bayes": (NaiveBayesClassifier.train([({"len": len(w)}, w[0]) for w in words]),
                        calls_equal(lambda c: c.classify({"len": 3}))),
        "punkt-tokenizer": (PunktSentenceTokenizer(trainer.get_params()), calls_equal(lambda t: t.tokenize(text))),
        "regexp-tokenizer": (RegexpTokenizer(r"\w+"), calls_equal(lambda t: t.tokenize(text))),
        "treebank-tokenizer": (TreebankWordTokenizer(), calls_equal(lambda t: t.tokenize(text))),
        "lm-mle": (lm, calls_equal(lambda m: m.score("model", ["the"]))),
        "perceptron-tagger": (tagger, calls_equal(lambda t: t.tag(["the", "model"]))),
    }
    return {label: Artifact(_pickle_to(directory / f"{label}.pkl", obj), "pickle", check=check)
            for label, (obj, check) in objects.items()}


SPACY = ("doc", "doc-with-ents", "blank-pipeline", "vocab", "span-as-doc")


@group("spacy", family=SCIENCE, library="spacy", labels=SPACY)
def build_spacy(directory: Path) -> dict[str, Artifact]:
    import spacy
    from spacy.tokens import Span

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp("Safeload scans the model. Then it loads it.")
    ents = nlp("Ada Lovelace lives in London.")
    ents.ents = [Span(ents, 0, 2, label="PERSON"), Span(ents, 4, 5, label="GPE")]
    objects = {"doc": doc, "doc-with-ents": ents, "blank-pipeline": nlp, "vocab": nlp.vocab,
               "span-as-doc": doc[0:3].as_doc()}  # spans cannot be pickled (spaCy E112)
    return {label: Artifact(_pickle_to(directory / f"{label}.pkl", obj), "pickle", check=_spacy_equal)
            for label, obj in objects.items()}


def _spacy_equal(real: Any, safe: Any) -> None:
    if hasattr(real, "to_bytes"):
        assert real.to_bytes() == safe.to_bytes()
    else:
        assert (real.text, real.start, real.end) == (safe.text, safe.start, safe.end)

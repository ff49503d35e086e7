"""Notebook 3: queries, keys and values, learned projections."""

import numpy as np

import minigrad as mg
from attention import SelfAttention
from exercise_checks import say, unanswered

# The notebook's word vectors (riverish, moneyish, place, grammar word) for its two
# sentences, and its hand-set W_Q and W_K: the data the checks compute with.
VECTORS = {
    "the": [0, 0, 0, 1], "was": [0, 0, 0, 1], "bank": [0.5, 0.5, 1, 0],
    "steep": [1, 0, 0.6, 0], "closed": [0, 1, 0.6, 0],
}
SENTENCES = [["the", "bank", "was", "steep"], ["the", "bank", "was", "closed"]]
HAND_W_Q = [[0, 0], [0, 0], [4, 0], [0, 0]]
HAND_W_K = [[4, 0], [4, 0], [-4, 0], [0, 0]]


def hand_set_layer(W_Q, W_K) -> SelfAttention:
    """A SelfAttention with the given W_Q and W_K (4, hs) and W_V the first hs features."""
    head_dim = W_Q.shape[1]
    layer = SelfAttention(d_model=4, head_dim=head_dim).to("float64")
    layer.W_Q.weight.data = np.array(W_Q, dtype=np.float64)
    layer.W_K.weight.data = np.array(W_K, dtype=np.float64)
    layer.W_V.weight.data = np.eye(4, head_dim)
    return layer


def embed(sentences) -> mg.Tensor:
    return mg.tensor(np.array([[VECTORS[w] for w in s] for s in sentences], dtype=np.float64))


def check_bank_scores(answer) -> bool:
    """Exercise: bank's four scores in "the bank was steep" with the notebook's hand-set layer,
    as softmax receives them (scaled). Judged by computing q . k / sqrt(d_k) with the layer."""
    if unanswered(answer):
        return False
    try:
        scores = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        scores = None
    if scores is None or scores.shape != (4,):
        return say(False, "", "give one score per word of the sentence, in its order: four "
                              "numbers, such as [0.1, 0.2, 0.3, 0.4].")
    layer = hand_set_layer(np.array(HAND_W_Q), np.array(HAND_W_K))
    x = embed(SENTENCES[:1])
    with mg.no_grad():
        q, k = layer.W_Q(x).data[0], layer.W_K(x).data[0]  # (T, hs) each
    d_k = q.shape[1]
    measured = k @ q[1] / np.sqrt(d_k)  # bank is word 1: its query against every key
    if np.allclose(scores, measured, atol=0.01):
        return say(True, "bank's query asks for the direction W_Q gives to 'place'; only "
                   "steep's key points along it (riverish +4, place -4 x 0.6), and the grammar "
                   "words' and bank's own keys are 0.", "")
    if np.allclose(scores, measured * np.sqrt(d_k), atol=0.01):
        return say(False, "", "these are the dot products; softmax receives them divided by "
                              "sqrt(d_k), and d_k is the width of a query.")
    return say(False, "", "bank's query is x_bank W_Q (a row vector times a (4, 2) matrix); each "
                          "word's key is x_j W_K. The score is their dot product over "
                          "sqrt(d_k).")


def check_context_attends_to_bank(W_Q, W_K) -> bool:
    """Exercise: W_Q and W_K such that the context word (steep, closed) of both sentences puts
    more than 0.9 of its attention on bank. Judged by running a layer with them."""
    if unanswered(W_Q) or unanswered(W_K):
        return False
    try:
        W_Q, W_K = np.asarray(W_Q, dtype=float), np.asarray(W_K, dtype=float)
    except (TypeError, ValueError):
        return say(False, "", "give W_Q and W_K as arrays of numbers of shape (4, 2).")
    if W_Q.ndim != 2 or W_Q.shape[0] != 4 or W_Q.shape != W_K.shape or W_Q.shape[1] > 64:
        return say(False, "", f"W_Q and W_K take a 4-feature word to the same head width: "
                              f"give two arrays of shape (4, 2); yours are {W_Q.shape} and "
                              f"{W_K.shape}.")
    if not (np.all(np.isfinite(W_Q)) and np.all(np.isfinite(W_K))):
        return say(False, "", "every entry of W_Q and W_K must be a finite number.")
    layer = hand_set_layer(W_Q, W_K)
    with mg.no_grad():
        layer(embed(SENTENCES))
    on_bank = layer.attention_weights[:, 3, 1]  # (B,): the context word (3) looking at bank (1)
    for sentence, weight in zip(SENTENCES, on_bank):
        print(f"{' '.join(sentence)}: {sentence[3]} gives bank {weight:.3f}")
    return say(bool(np.all(on_bank > 0.9)),
               "The query says what a word looks for and the key what it offers: the "
               "context word asks along a direction that bank's key points along further "
               "than any other word's.",
               "the context word's query x W_Q must point the way bank's key x_bank W_K "
               "points. Build the query from features steep and closed have, and the key from "
               "one that bank has more of than any other word; mind steep's own key, since "
               "it is a place too (0.6).")

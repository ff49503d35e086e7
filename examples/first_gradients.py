"""First gradients: build an expression, call backward(), and check it against finite differences.

Run:  python examples/first_gradients.py
"""

import numpy as np

import minigrad as mg

mg.manual_seed(0)

# A tiny neuron: y = tanh(x @ w + b), summed to a scalar loss.
x = mg.tensor([[1.0, 2.0]], name="x")  # (1, 2), a constant input
w = mg.randn(2, 3, requires_grad=True, name="w")  # (2, 3)
b = mg.zeros(3, requires_grad=True, name="b")  # (3,), broadcast over the row
y = (x @ w + b).tanh()
loss = y.sum()
print("loss:", loss)

loss.backward()
print("dloss/dw:\n", w.grad)
print("dloss/db:", b.grad)

# The same gradient by hand: d tanh(z)/dz = 1 - tanh(z)^2, and dz/dw = x^T.
by_hand = x.data.T @ (1 - y.data**2)
print("matches the hand-derived gradient:", np.allclose(w.grad, by_hand))

# Every tensor on the way keeps its gradient, so you can inspect any node.
print("dloss/dy (an intermediate):", y.grad)

# gradcheck compares backward with central differences (in float64).
print("gradcheck passes:", mg.gradcheck(lambda w, b: (x @ w + b).tanh().sum(), w, b))

# A few steps of gradient descent pull the neuron's output towards a target.
target = mg.tensor([[0.5, -0.5, 0.0]])
for step in range(5):
    w.grad = b.grad = None
    loss = (((x @ w + b).tanh() - target) ** 2).mean()  # squared error: 0 at the target
    loss.backward()
    w.data -= 0.5 * w.grad
    b.data -= 0.5 * b.grad
    print(f"step {step}: squared error {loss.item():.4f}")

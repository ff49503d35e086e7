"""Train self-attention on the "bank" task and look at what it learned.

    python examples/train_attention.py                 # the context ("bank") task
    python examples/train_attention.py --task pair     # any option of attention.train works

Each training sentence holds the ambiguous word "bank" and one context word ("river",
"cash", ...) in clauses such as "near the bank and we saw the fish". The model must label
bank's sense, and it can only do so by attending from "bank" to the context word. After
training, open runs/context/attention.png: the row of "bank" lights up at the context word.
"""

import sys

from attention.train import main

if __name__ == "__main__":
    main(sys.argv[1:])

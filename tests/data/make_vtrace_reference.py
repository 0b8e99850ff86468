#!/usr/bin/env python3
"""Writes vtrace_reference.txt: V-trace targets computed straight from the definition in
Espeholt et al. 2018 (IMPALA), eq. (1), as an independent check of learner/vtrace.cc.

Colony computes v_s with the backward recursion; this script uses the n-step *sum* instead,

    v_s = V(x_s) + sum_{t=s}^{T-1} (prod_{i=s}^{t-1} gamma_i c_i) * delta_t,
    delta_t = rho_t (r_t + gamma_t V(x_{t+1}) - V(x_t)),
    rho_t = min(rho_bar, pi/mu),  c_i = lambda * min(c_bar, pi/mu),

with V(x_T) the bootstrap value, and the policy-gradient advantage

    A_s = min(rho_bar, pi/mu) * (r_s + gamma_s v_{s+1} - V(x_s)),  v_T = V(x_T).

Plain Python floats (float64), no numpy, no torch: nothing shared with the C++ code.
Format, one case after another:
    case T B rho_bar c_bar lambda
    log_rhos / discounts / rewards / values: T lines of B numbers each
    bootstrap: 1 line of B numbers
    vs / pg_advantages: T lines of B numbers each
"""
import math
import random
import sys

INF = 1e30  # "no clipping"


def vtrace(log_rhos, discounts, rewards, values, bootstrap, rho_bar, c_bar, lam):
    T, B = len(log_rhos), len(log_rhos[0])
    vs = [[0.0] * B for _ in range(T)]
    adv = [[0.0] * B for _ in range(T)]
    for b in range(B):
        v_next = [values[t + 1][b] if t + 1 < T else bootstrap[b] for t in range(T)]
        ratio = [math.exp(log_rhos[t][b]) for t in range(T)]
        rho = [min(rho_bar, r) for r in ratio]
        c = [lam * min(c_bar, r) for r in ratio]
        delta = [rho[t] * (rewards[t][b] + discounts[t][b] * v_next[t] - values[t][b])
                 for t in range(T)]
        for s in range(T):
            total, weight = 0.0, 1.0
            for t in range(s, T):
                total += weight * delta[t]
                weight *= discounts[t][b] * c[t]
            vs[s][b] = values[s][b] + total
        for s in range(T):
            vs_next = vs[s + 1][b] if s + 1 < T else bootstrap[b]
            adv[s][b] = rho[s] * (rewards[s][b] + discounts[s][b] * vs_next - values[s][b])
    return vs, adv


def random_case(rng, T, B, log_rho_scale, rho_bar, c_bar, lam):
    def grid(f):
        return [[f() for _ in range(B)] for _ in range(T)]
    log_rhos = grid(lambda: rng.gauss(0.0, log_rho_scale))
    # gamma = 0.99, with episode ends (discount 0) about one step in eight.
    discounts = grid(lambda: 0.0 if rng.random() < 0.125 else 0.99)
    rewards = grid(lambda: rng.uniform(-2.0, 2.0))
    values = grid(lambda: rng.uniform(-3.0, 3.0))
    bootstrap = [rng.uniform(-3.0, 3.0) for _ in range(B)]
    return (T, B, rho_bar, c_bar, lam, log_rhos, discounts, rewards, values, bootstrap)


def main(path):
    rng = random.Random(20261126)
    cases = [
        random_case(rng, 1, 4, 0.5, 1.0, 1.0, 1.0),      # T = 1
        random_case(rng, 1, 1, 3.0, 1.0, 1.0, 1.0),
        random_case(rng, 5, 3, 0.3, 1.0, 1.0, 1.0),      # IMPALA defaults
        random_case(rng, 20, 4, 3.0, 1.0, 1.0, 1.0),     # large importance ratios
        random_case(rng, 20, 4, 3.0, INF, INF, 1.0),     # no clipping
        random_case(rng, 16, 2, 1.0, 2.0, 0.5, 0.95),    # rho_bar > c_bar, lambda < 1
        random_case(rng, 32, 3, 0.0, 1.0, 1.0, 1.0),     # on-policy: log_rho = 0
        random_case(rng, 12, 5, 2.0, 1.5, 1.0, 0.0),     # lambda = 0: one-step targets
    ]
    with open(path, "w") as out:
        for (T, B, rho_bar, c_bar, lam, log_rhos, discounts, rewards, values,
             bootstrap) in cases:
            vs, adv = vtrace(log_rhos, discounts, rewards, values, bootstrap,
                             rho_bar, c_bar, lam)
            out.write(f"case {T} {B} {rho_bar!r} {c_bar!r} {lam!r}\n")
            for grid in (log_rhos, discounts, rewards, values):
                for row in grid:
                    out.write(" ".join(repr(x) for x in row) + "\n")
            out.write(" ".join(repr(x) for x in bootstrap) + "\n")
            for grid in (vs, adv):
                for row in grid:
                    out.write(" ".join(repr(x) for x in row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "vtrace_reference.txt")

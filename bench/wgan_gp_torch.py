"""The WGAN-GP 8-Gaussians experiment of examples/wgan_gp_8gaussians.gan written in PyTorch,
the peer that bench/run.sh times ganc's native executable against. Same networks (3 x 512
ReLU MLPs), batch 256, lambda 0.1, 5 critic steps per generator step, Adam 1e-4 (0.5, 0.9).
Usage: python3 wgan_gp_torch.py ITERS THREADS; prints generator iterations per second."""
import math
import sys
import time

import torch

iters, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(1)
batch, lam = 256, 0.1


def mlp(n_in, n_out):
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, n_out))


G, D = mlp(2, 2), mlp(2, 1)
opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))
centres = torch.tensor([[2 * math.cos(k * math.pi / 4), 2 * math.sin(k * math.pi / 4)] for k in range(8)])


def real_batch():
    k = torch.randint(0, 8, (batch,))
    return (centres[k] + 0.02 * torch.randn(batch, 2)) / 1.414


def d_step():
    x = real_batch()
    fake = G(torch.randn(batch, 2)).detach()
    a = torch.rand(batch, 1)
    xh = (a * x + (1 - a) * fake).requires_grad_(True)
    g, = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
    gp = lam * ((torch.sqrt((g * g).sum(1) + 1e-12) - 1) ** 2).mean()
    loss = D(fake).mean() - D(x).mean() + gp
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()


def g_step():
    loss = -D(G(torch.randn(batch, 2))).mean()
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()


start = time.perf_counter()
for _ in range(iters):
    for _ in range(5):
        d_step()
    g_step()
elapsed = time.perf_counter() - start
print(f"{iters / elapsed:.3f}")

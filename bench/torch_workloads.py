"""The six workloads of `make bench` (bench/*.gan) written in PyTorch, the peer that bench/run.sh
times ganc's native executables against. Each one is the same program as its .gan file: the same
networks, losses, penalty, optimizer settings, batch and critic steps per generator step.

Usage: python3 torch_workloads.py WORKLOAD WARMUP ITERS TORCH_THREADS
Runs WARMUP generator iterations untimed, then ITERS timed ones, and prints generator
iterations per second. Thread settings of the BLAS and OpenMP pools come from the environment
(OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY), which bench/run.sh sets per workload."""
import gzip
import math
import sys
import time

import torch

nn = torch.nn
F = torch.nn.functional
FMNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def mlp(n_in, width, n_out):
    return nn.Sequential(
        nn.Linear(n_in, width), nn.ReLU(),
        nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, n_out))


# stdlib/fmnist.gan's dcgan_generator and dcgan_discriminator (bn: true or false)
def dcgan_generator(width=64):
    return nn.Sequential(
        nn.Linear(64, 2 * width * 7 * 7, bias=False), nn.Unflatten(1, (2 * width, 7, 7)),
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())


def dcgan_discriminator(bn, width=64):
    return nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=not bn),
        nn.BatchNorm2d(2 * width) if bn else nn.Identity(), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))


def gaussians8(batch):
    centres = torch.tensor([[2 * math.cos(k * math.pi / 4), 2 * math.sin(k * math.pi / 4)] for k in range(8)])
    def draw():
        k = torch.randint(0, 8, (batch,))
        return (centres[k] + 0.02 * torch.randn(batch, 2)) / 1.414
    return draw


def fmnist(batch):
    with gzip.open(FMNIST, "rb") as f:
        raw = f.read()[16:]
    images = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 1, 28, 28).float() / 127.5 - 1
    return lambda: images[torch.randint(0, images.shape[0], (batch,))]


# name: (G, D, real batch sampler, noise width, batch, loss, lambda, critic steps, lr, betas)
def workload(name):
    toy = lambda width, batch: (mlp(2, width, 2), mlp(2, width, 1), gaussians8(batch), 2, batch)
    dcgan = lambda bn: (dcgan_generator(), dcgan_discriminator(bn), fmnist(64), 64, 64)
    table = {
        "toy_wgan_gp": toy(512, 256) + ("wgan", 0.1, 5, 1e-4, (0.5, 0.9)),
        "toy_ns": toy(512, 256) + ("ns", 0, 5, 1e-4, (0.5, 0.9)),
        "narrow_ns": toy(128, 128) + ("ns", 0, 1, 1e-4, (0.5, 0.9)),
        "narrow_wgan_gp": toy(128, 128) + ("wgan", 0.1, 1, 1e-4, (0.5, 0.9)),
        "dcgan_ns": dcgan(True) + ("ns", 0, 1, 2e-4, (0.5, 0.999)),
        "dcgan_wgan_gp": dcgan(False) + ("wgan", 10, 5, 1e-4, (0, 0.9)),
    }
    return table[name]


def main():
    name, warmup, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    G, D, real_batch, nz, batch, loss, lam, critic_steps, lr, betas = workload(name)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)

    def penalty(x, fake):  # stdlib's gradient_penalty: lam * mean((||grad D(x_hat)|| - 1)^2)
        a = torch.rand((batch,) + (1,) * (x.dim() - 1))
        xh = (a * x + (1 - a) * fake).requires_grad_(True)
        g, = torch.autograd.grad(D(xh).sum(), xh, create_graph=True)
        norm = torch.sqrt((g * g).flatten(1).sum(1) + 1e-12)
        return lam * ((norm - 1) ** 2).mean()

    def d_step():
        x = real_batch()
        with torch.no_grad():
            fake = G(torch.randn(batch, nz))
        if loss == "wgan":
            total = D(fake).mean() - D(x).mean()
        else:
            total = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
        if lam:
            total = total + penalty(x, fake)
        opt_d.zero_grad()
        total.backward()
        opt_d.step()

    def g_step():
        out = D(G(torch.randn(batch, nz)))
        total = -out.mean() if loss == "wgan" else F.softplus(-out).mean()
        opt_g.zero_grad()
        total.backward()
        opt_g.step()

    def iteration():
        for _ in range(critic_steps):
            d_step()
        g_step()

    for _ in range(warmup):
        iteration()
    start = time.perf_counter()
    for _ in range(iters):
        iteration()
    print(f"{iters / (time.perf_counter() - start):.3f}")


main()

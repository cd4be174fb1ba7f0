"""VAE and AE: the loss reductions, the contract, persistence, dtypes and devices."""

from __future__ import annotations

import math

import pytest
import torch

from rotcurve.errors import ConfigError
from rotcurve.models import (
    MODELS,
    POSTERIORS,
    Autoencoder,
    ModelConfig,
    ModelOutput,
    VAE,
    build_model,
    default_config,
)
from rotcurve.models.posteriors import PointMass, Posterior
from rotcurve.serialization import from_dict, to_dict

CUDA = torch.cuda.is_available()

VARIANTS = [
    dict(model="vae", posterior="diag"),
    dict(model="vae", posterior="full"),
    dict(model="vae", posterior="full-svd", likelihood="bernoulli"),
    dict(model="vae", posterior="diag", noise="fixed", beta=0.3),
    dict(model="ae"),
    dict(model="ae", latent_space="sphere", latent_dim=3),
    dict(model="ae", likelihood="bernoulli"),
]


def _ids(v):
    return "-".join(str(x) for x in v.values())


def _model(seed=0, **settings) -> torch.nn.Module:
    torch.manual_seed(seed)
    settings = {"input_dim": 12, "hidden": (16, 8), **settings}
    return build_model(ModelConfig(**settings))


def _x(b=5, n=12, seed=1, dtype=torch.float32):
    return torch.rand(b, n, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("settings", VARIANTS, ids=_ids)
def test_contract_shapes(settings):
    model = _model(**settings)
    d = model.config.latent_dim
    assert isinstance(model, MODELS[settings["model"]])
    x = _x()
    out = model(x)
    assert isinstance(out, ModelOutput)
    for scalar in (out.loss, out.recon, out.kl):
        assert scalar.shape == () and torch.isfinite(scalar)
    assert out.x_hat.shape == (5, 12) and out.z.shape == (5, d)
    assert out.recon_per_example.shape == out.kl_per_example.shape == (5,)
    post = model.encode(x)
    assert isinstance(post, Posterior)
    assert post.mean.shape == (5, d)
    assert post.covariance.shape == post.scale_tril.shape == (5, d, d)
    assert post.sample().shape == post.rsample().shape == (5, d)
    assert post.kl().shape == (5,)
    assert model.decode(out.z).shape == (5, 12)
    assert model.sample(7).shape == (7, 12)
    assert model.nll(x).shape == (5,) and model.nll(x, n_samples=4).shape == (5,)
    assert model.reconstruct(x).shape == (5, 12)
    out.loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("settings", VARIANTS, ids=_ids)
def test_loss_is_the_batch_mean_of_per_example_sums(settings):
    model = _model(**settings).double()
    x = _x(dtype=torch.float64)
    out = model(x, generator=torch.Generator().manual_seed(3))
    cfg = model.config
    # independent recomputation from the returned z and posterior
    raw = model.decoder(out.z)
    if cfg.likelihood == "gaussian":
        sigma = model.likelihood.sigma.double()
        recon_i = (
            0.5 * ((x - raw) / sigma) ** 2 + torch.log(sigma) + 0.5 * math.log(2 * math.pi)
        ).sum(-1)
    else:
        p = torch.sigmoid(raw)
        recon_i = -(x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum(-1)
        torch.testing.assert_close(out.x_hat, p)
    torch.testing.assert_close(out.recon_per_example, recon_i)
    torch.testing.assert_close(out.recon, recon_i.mean())
    if cfg.model == "vae":
        kl_i = 0.5 * (
            torch.diagonal(out.posterior.covariance, dim1=-2, dim2=-1).sum(-1)
            + out.posterior.mean.square().sum(-1)
            - cfg.latent_dim
            - torch.logdet(out.posterior.covariance)
        )
        torch.testing.assert_close(out.kl_per_example, kl_i)
        torch.testing.assert_close(out.loss, (recon_i + cfg.beta * kl_i).mean())
        assert out.kl > 0
    else:
        assert torch.equal(out.kl, torch.zeros((), dtype=torch.float64))
        torch.testing.assert_close(out.loss, recon_i.mean())


def test_loss_does_not_scale_with_batch_size():
    """A batch of two copies of x has the same loss as x (means, not sums)."""
    model = _model(model="ae")
    x = _x()
    torch.testing.assert_close(model(torch.cat([x, x])).loss, model(x).loss)
    vae = _model(model="vae").double()
    xd = _x(dtype=torch.float64)
    single = vae.nll(xd, n_samples=2000, generator=torch.Generator().manual_seed(0))
    double = vae.nll(torch.cat([xd, xd]), n_samples=2000, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(double.mean(), single.mean(), rtol=5e-3, atol=0)


def test_beta_weights_only_the_kl():
    x = _x()
    a = _model(beta=1.0)(x, generator=torch.Generator().manual_seed(0))
    b = _model(beta=0.0)(x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(b.loss, b.recon)
    torch.testing.assert_close(a.loss, a.recon + a.kl)
    torch.testing.assert_close(a.recon, b.recon)


@pytest.mark.parametrize("model_name", ["vae", "ae"])
def test_max_weight_adds_the_worst_feature_to_the_loss_only(model_name):
    """loss = mean(recon + beta kl) + w * mean_i max_j (x_ij - mu_ij)^2 / (2 sigma_j^2);
    recon, kl and nll stay the likelihood's."""
    x = _x(dtype=torch.float64)
    base = _model(model=model_name, noise="shared").double()
    heavy = _model(model=model_name, noise="shared", max_weight=2.5).double()
    heavy.load_state_dict(base.state_dict())
    a = base(x, generator=torch.Generator().manual_seed(0))
    b = heavy(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.penalty, torch.zeros((), dtype=torch.float64))
    torch.testing.assert_close(b.recon, a.recon)
    torch.testing.assert_close(b.kl, a.kl)
    raw = heavy.decoder(b.z)
    worst = (0.5 * ((x - raw) / heavy.likelihood.sigma) ** 2).amax(-1)
    torch.testing.assert_close(b.penalty, 2.5 * worst.mean())
    torch.testing.assert_close(b.loss, a.loss + 2.5 * worst.mean())
    torch.testing.assert_close(
        heavy.nll(x, generator=torch.Generator().manual_seed(5)),
        base.nll(x, generator=torch.Generator().manual_seed(5)),
    )


def test_nll_is_the_negative_elbo_of_forward():
    model = _model(posterior="full")
    x = _x()
    out = model(x, generator=torch.Generator().manual_seed(4))
    nll = model.nll(x, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(nll, out.recon_per_example + out.kl_per_example)
    ae = _model(model="ae")
    torch.testing.assert_close(ae.nll(x), ae(x).recon_per_example)


def test_sphere_codes_have_unit_norm():
    model = _model(model="ae", latent_space="sphere", latent_dim=3)
    post = model.encode(_x(b=50))
    assert isinstance(post, PointMass)
    torch.testing.assert_close(post.mean.norm(dim=-1), torch.ones(50))
    # prior draws are uniform on the sphere: unit norm, mean ~ 0 (std 1/sqrt(3n))
    z = model._prior_sample(30_000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(30_000))
    assert z.mean(0).abs().max() < 5 / math.sqrt(3 * 30_000)


def test_euclidean_ae_code_is_the_encoder_output():
    model = _model(model="ae")
    x = _x()
    torch.testing.assert_close(model.encode(x).mean, model.encoder(x))
    torch.testing.assert_close(model(x).x_hat, model.decode(model.encoder(x)))


def test_sampling_is_reproducible_with_a_generator():
    model = _model()
    a = model.sample(4, generator=torch.Generator().manual_seed(9))
    b = model.sample(4, generator=torch.Generator().manual_seed(9))
    c = model.sample(4, generator=torch.Generator().manual_seed(10))
    assert torch.equal(a, b) and not torch.equal(a, c)
    x = _x()
    o1 = model(x, generator=torch.Generator().manual_seed(2))
    o2 = model(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(o1.loss, o2.loss)


@pytest.mark.parametrize("settings", VARIANTS, ids=_ids)
def test_rebuild_from_saved_config_and_state_dict(tmp_path, settings):
    model = _model(**settings)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = _x()
    for _ in range(3):  # move away from the initial weights
        opt.zero_grad()
        model(x).loss.backward()
        opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"config": to_dict(model.config), "state": model.state_dict()}, path)
    saved = torch.load(path, weights_only=True)
    torch.manual_seed(123)  # different fresh weights before loading
    rebuilt = build_model(from_dict(ModelConfig, saved["config"]))
    rebuilt.load_state_dict(saved["state"])
    assert rebuilt.config == model.config
    assert torch.equal(rebuilt.encode(x).mean, model.encode(x).mean)
    assert torch.equal(rebuilt.reconstruct(x), model.reconstruct(x))
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(rebuilt(x, generator=g()).loss, model(x, generator=g()).loss)
    assert torch.equal(rebuilt.sample(3, generator=g()), model.sample(3, generator=g()))


@pytest.mark.parametrize("posterior", sorted(POSTERIORS))
def test_float64_gradcheck_of_the_loss(posterior):
    model = _model(posterior=posterior, hidden=(6,), input_dim=5, latent_dim=2).double()
    x = _x(b=3, n=5, dtype=torch.float64).requires_grad_(True)

    def loss(inp):
        return model(inp, generator=torch.Generator().manual_seed(0)).loss

    assert loss(x).dtype == torch.float64
    assert torch.autograd.gradcheck(loss, (x,), eps=1e-6, atol=1e-5)


def test_input_is_cast_to_the_model_dtype():
    model = _model()
    out = model(_x(dtype=torch.float64))
    assert out.loss.dtype == torch.float32 and out.x_hat.dtype == torch.float32


@pytest.mark.parametrize("settings", VARIANTS[:3], ids=_ids)
def test_cpu_autocast_bfloat16_losses_in_float32(settings):
    model = _model(**settings)
    x = _x()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x, generator=torch.Generator().manual_seed(0))
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)
    assert out.posterior.mean.dtype == torch.float32
    out.loss.backward()
    ref = model(x, generator=torch.Generator().manual_seed(0))
    # bfloat16 has 8 bits of mantissa: agree to a few per cent
    torch.testing.assert_close(out.recon, ref.recon, rtol=0.1, atol=1.0)


@pytest.mark.parametrize(
    "settings",
    [
        dict(latent_dim=1),
        dict(latent_dim=2, posterior="full"),
        dict(latent_dim=2, posterior="full-svd"),
        dict(latent_dim=2, model="ae", latent_space="sphere"),
    ],
    ids=_ids,
)
def test_training_reduces_the_loss_on_a_one_parameter_family(settings):
    """A small model learns curves y = sin(x + phase): the loss falls by far."""
    torch.manual_seed(0)
    t = torch.linspace(0, 3, 12)
    phase = torch.rand(256, 1) * 2
    data = torch.sin(t + phase)
    model = build_model(ModelConfig(input_dim=12, hidden=(32, 32), sigma=0.3, **settings))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    first = model(data, generator=g).loss.detach()
    for _ in range(300):
        opt.zero_grad()
        loss = model(data, generator=g).loss
        loss.backward()
        opt.step()
    with torch.no_grad():
        rms = (model.reconstruct(data) - data).square().mean().sqrt()
    assert loss < first - 20  # nats per curve
    assert rms < 0.1  # the data have unit amplitude


def test_build_model_needs_a_config():
    with pytest.raises(ConfigError, match="ModelConfig"):
        build_model({"input_dim": 5})  # type: ignore[arg-type]
    assert isinstance(build_model(default_config("curves", 50)), VAE)
    assert isinstance(build_model(ModelConfig(input_dim=4, model="ae")), Autoencoder)


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("settings", VARIANTS, ids=_ids)
def test_cuda_matches_cpu_and_does_not_sync(settings):
    model = _model(**settings).double()
    x = _x(dtype=torch.float64)
    ref = model.nll(x, generator=torch.Generator().manual_seed(0))
    cuda = _model(**settings).double().cuda()
    cuda.load_state_dict(model.state_dict())
    gen = torch.Generator(device="cuda").manual_seed(0)
    xc = x.cuda()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = cuda(xc, generator=gen)
        out.loss.backward()
        nll = cuda.nll(xc)
        samples = cuda.sample(3, generator=gen)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert out.loss.device.type == "cuda" and samples.shape == (3, 12)
    if settings["model"] == "ae":
        torch.testing.assert_close(nll.cpu(), ref)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        amp = cuda.float()(xc.float(), generator=gen)
    assert amp.loss.dtype == torch.float32 and torch.isfinite(amp.loss)


def _linear_gaussian_vae(seed=0):
    """A VAE with linear encoder and decoder (hidden=()): p(x) = N(b, W W^T + D) exactly."""
    torch.manual_seed(seed)
    cfg = ModelConfig(input_dim=6, latent_dim=2, hidden=(), posterior="full")
    model = build_model(cfg).double()
    with torch.no_grad():
        model.likelihood.log_sigma.copy_(torch.linspace(-1.0, 0.0, 6, dtype=torch.float64))
    dec = model.decoder.net[0]
    w, b = dec.weight.detach(), dec.bias.detach()
    noise = torch.diag(model.likelihood.sigma.detach().square())
    marginal = torch.distributions.MultivariateNormal(b, covariance_matrix=w @ w.T + noise)
    return model, w, b, noise, marginal


def _set_posterior(model, w, b, noise, *, inflate=1.0, shift=0.0):
    """Encoder weights giving q(z|x) = N(m + shift, inflate * C), p(z|x) = N(m, C) the truth."""
    d = w.shape[1]
    precision = torch.eye(d, dtype=torch.float64) + w.T @ torch.linalg.solve(noise, w)
    cov = torch.linalg.inv(precision)
    gain = cov @ w.T @ torch.linalg.inv(noise)  # true posterior mean = gain (x - b)
    tril = torch.linalg.cholesky(inflate * cov)
    diag = torch.diagonal(tril) - 1e-5  # MIN_SCALE
    rows, cols = torch.tril_indices(d, d, offset=-1)
    enc = model.encoder.net[0]
    with torch.no_grad():
        enc.weight.zero_()
        enc.weight[:d] = gain
        raw_diag = diag + torch.log(-torch.expm1(-diag))  # softplus^-1
        below = tril[rows, cols] / torch.diagonal(tril)[cols]  # L = (I + M) diag(s)
        enc.bias.copy_(torch.cat([shift - gain @ b, raw_diag, below]))


def test_exact_posterior_gives_the_exact_log_likelihood():
    model, w, b, noise, marginal = _linear_gaussian_vae()
    x = marginal.sample((8,))
    _set_posterior(model, w, b, noise)
    exact = marginal.log_prob(x)
    # with q = p(z|x) every importance weight equals p(x): exact from any sample
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        torch.testing.assert_close(model.log_marginal(x, n_samples=2, generator=g), exact)
    # and the ELBO is tight: E_q[-log p(x|z)] + KL = -log p(x)
    with torch.no_grad():
        nll = model.nll(x, n_samples=40_000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(-nll, exact, rtol=0, atol=0.02)


def test_elbo_bounds_and_importance_sampling_converges():
    model, w, b, noise, marginal = _linear_gaussian_vae(seed=1)
    _set_posterior(model, w, b, noise, inflate=1.5, shift=0.3)  # q != p(z|x)
    x = marginal.sample((6,))
    exact = marginal.log_prob(x)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = -model.nll(x, n_samples=20_000, generator=g)
        iwae = model.log_marginal(x, n_samples=20_000, generator=g)
        iwae_1 = model.log_marginal(x, n_samples=1, generator=g)
    assert torch.all(elbo < exact - 0.05)  # Jensen: strictly below unless q is exact
    assert torch.all(iwae > elbo)
    assert torch.all(torch.isfinite(iwae_1))
    torch.testing.assert_close(iwae, exact, rtol=0, atol=0.01)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: m(torch.rand(4, 11)), r"shape \(batch, 12\), got \(4, 11\)"),
        (lambda m: m(torch.rand(12)), r"shape \(batch, 12\)"),
        (lambda m: m.encode([[0.0] * 12]), "torch tensor"),
        (lambda m: m.decode(torch.rand(3, 5)), r"shape \(\.\.\., 4\), got \(3, 5\)"),
        (lambda m: m.sample(-1), "n must be an integer >= 0"),
        (lambda m: m.sample(2.5), "n must be"),
        (lambda m: m.nll(torch.rand(2, 12), n_samples=0), "n_samples must be an integer >= 1"),
        (lambda m: m.log_marginal(torch.rand(2, 12), n_samples=0), "n_samples"),
    ],
)
def test_bad_inputs_give_one_line_messages(call, match):
    from rotcurve.errors import RotcurveError

    model = _model()
    with pytest.raises(RotcurveError, match=match) as err:
        call(model)
    assert "\n" not in str(err.value)


def test_sample_zero_is_empty():
    assert _model().sample(0).shape == (0, 12)


def test_mnist_default_scores_binary_images():
    torch.manual_seed(0)
    model = build_model(default_config("mnist", 784, latent_dim=2))
    x = (torch.rand(6, 784, generator=torch.Generator().manual_seed(0)) > 0.8).float()
    out = model(x)
    assert out.x_hat.min() > 0 and out.x_hat.max() < 1  # probabilities
    # an untrained decoder outputs logits near 0: about log 2 nats per pixel
    assert 0.5 * 784 * math.log(2) < out.recon.item() < 2 * 784 * math.log(2)

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A GAN on MNIST, measured
#
# A generative adversarial network {cite:p}`goodfellow2014generative` trains two networks against
# each other: a *generator* $G$ that turns noise $z$ into images, and a *discriminator* $D$ that tells
# real images from generated ones. We train a small deep convolutional GAN (DCGAN)
# {cite:p}`radford2015unsupervised` on MNIST digits, with the two stability tricks of the book's seed
# — batch normalisation everywhere and a rule that pauses whichever player is too far ahead — and
# we measure its samples as it trains: with a digit classifier, a Fréchet distance to real digits,
# and how evenly it draws the ten classes.

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

PACKAGE = "vaegan-utils @ git+https://github.com/vaegan-book/vaegan-book"
if "google.colab" in sys.modules:  # Colab only: install the book's package, keep Colab's TF
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a short run for CI
seed = 0
output_dir = "outputs/03_gan_mnist"
retrain = False  # False: reuse a finished run with the same settings and code from output_dir
steps = 10_000  # training steps (the seed's schedule)
eval_every = 250  # steps between evaluations and snapshots
eval_samples = 2000  # generated images scored at each evaluation
batch_size = 32
latent_dim = 64
g_width = 32  # channels of the generator's last hidden layer (2x that before it)
d_width = 16  # channels of the discriminator's first convolution (2x that after it)
learning_rate = 5e-4
balance = True  # the seed's balance rule

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from keras import ops

from vaegan_utils import data, evaluation, explorer, gan, plotting, runtime, training

runtime.configure_logging()
runtime.set_seed(seed)
out = runtime.output_dir(output_dir)
if quick:
    steps, eval_every, eval_samples = 400, 100, 1000
results = runtime.Results(out / "metrics.json", quick=quick, steps=steps)
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## Data and the yardstick
#
# The generator learns from the 60,000 training digits. To judge its samples we use a small CNN
# classifier trained on MNIST by `scripts/train_mnist_classifier.py` (its weights ship with
# `vaegan_utils` and are hash-checked on loading). From it, three measurements:
#
# - an **Inception-style score** $\exp\big(\mathbb{E}_x \mathrm{KL}(p(y \mid x) \,\|\, p(y))\big)$, between 1
#   and 10: high when each sample is confidently one digit *and* all digits are drawn equally often;
# - the **Fréchet distance** between Gaussians fitted to the classifier's 128-D penultimate features
#   of generated digits and of the 10,000 test digits: low when the two sets look alike;
# - the **fraction of samples per digit**: a class that vanishes is mode collapse.
#
# The same measurements on real training digits are the floor a perfect generator would reach.

# %%
mnist = data.load_mnist()
scorer = evaluation.Scorer.from_real(mnist.x_test)
real_sample = mnist.x_train[np.random.default_rng(seed).choice(60_000, eval_samples, replace=False)]
real = scorer.score(real_sample)
print(
    f"real training digits: score {real['score']:.2f}, Fréchet distance {real['frechet']:.2f}, "
    f"smallest class {min(real['class_fractions']):.1%}"
)

# %% [markdown]
# ## The two players
#
# The discriminator: three convolutions, each followed by batch norm, a leaky ReLU and dropout, then
# a dense layer and a dense layer to one logit. The generator: a dense layer from $z$ to a small
# feature map, batch norm, reshape, a resize to a 7x7 map, then transposed convolutions (each
# followed by batch norm) up to 28x28, the last with a sigmoid to $[0, 1]$. The generator is given
# more channels than the discriminator: with the balance rule the discriminator is rarely the
# bottleneck, and on a CPU every channel at 28x28 costs time.

# %%
generator = gan.build_generator(latent_dim, image_size=28, width=g_width)
discriminator = gan.build_discriminator(image_size=28, width=d_width)
print(
    f"generator: {generator.count_params():,} weights, {len(generator.layers)} layers "
    f"(z {generator.input.shape[1:]} -> image {generator.output.shape[1:]})"
)
print(
    f"discriminator: {discriminator.count_params():,} weights "
    f"(image {discriminator.input.shape[1:]} -> logit {discriminator.output.shape[1:]})"
)

# %% [markdown]
# ### The losses
#
# $D$ minimises the cross-entropy of calling real images real and fakes fake (averaged over the two
# halves, as in the seed). $G$ could minimise $\log(1 - D(G(z)))$, the other side of the same
# minimax game — but early in training $D$ rejects every fake with confidence, and there that
# function is flat: $G$ gets almost no gradient. The *non-saturating* loss $-\log D(G(z))$ has the
# same fixed point and a strong gradient exactly when $D$ wins {cite:p}`goodfellow2014generative`.

# %%
runtime.show_source(gan.discriminator_loss)
runtime.show_source(gan.generator_loss)

# %% [markdown]
# ### The train step and the balance rule
#
# One compiled step generates a batch of fakes, computes both losses from that single forward pass,
# and updates each player with its own gradients; the generator's gradients flow *through* $D$ but
# only $G$'s weights change. The seed's balance rule — skip $D$'s update when its loss is less than
# half of $G$'s, and vice versa — is a `tf.cond` inside the compiled step, so it costs no round trip
# to Python. The step also records how often each side was paused and the norm of $G$'s gradient.

# %%
runtime.show_source(gan.GAN.train_step)

# %% [markdown]
# ## Training
#
# Adam with $\beta_1 = 0.5$ for both players, as in DCGAN, and a learning rate of
# {glue:}`gan_learning_rate` (DCGAN used $2\cdot10^{-4}$; with these small networks and a 10,000-step
# budget a larger one learned faster here). Every
# `eval_every` steps we score `eval_samples` fresh samples and save a snapshot of a fixed grid of
# 64 codes, so the snapshots show the *same* $z$ maturing.

# %%
results.add("gan_learning_rate", learning_rate, "{:g}")
model = gan.GAN(generator, discriminator, latent_dim, balance=balance, seed=seed)
model.compile(learning_rate=learning_rate)  # Adam with beta_1 = 0.5 for both players
fixed_z = keras.random.normal((64, latent_dim), seed=seed)
frames_dir = out / "frames"
score_rng = keras.random.SeedGenerator(seed + 1)


def evaluate(step):
    """Save the fixed grid's snapshot and score a fresh batch of samples."""
    frame = plotting.frame_path(frames_dir, step)
    plotting.save_frame(ops.convert_to_numpy(generator(fixed_z)), 8, 8, frame, scale=1)
    return scorer.score_record(gan.sample(generator, eval_samples, score_rng))


# %%
batches = training.image_batches(mnist.x_train, batch_size, seed=seed).repeat()
run_settings = "seed batch_size latent_dim g_width d_width learning_rate balance eval_samples"
settings = {name: globals()[name] for name in run_settings.split()}  # a change retrains
log = training.fit_gan(
    model,
    batches,
    steps,
    eval_every,
    out,
    "gan",
    evaluate,
    settings=settings,
    code=[gan],
    retrain=retrain,
)

# %%
start, records = log.records[0], log.records[1:]  # step 0, then one record every eval_every steps
print(f"step 0: score {start['score']:.2f}, Fréchet {start['frechet']:.1f}")

# %% [markdown]
# ## Snapshots
#
# The same 64 codes at the start, halfway and at the end of training:

# %%
plotting.show_frames(frames_dir)  # the first, the middle and the last snapshot
plt.show()

# %% [markdown]
# And every snapshot in between, as an animation:

# %%
display(HTML(plotting.snapshots_gif_html(frames_dir)))

# %% [markdown]
# ### Walking between two codes
#
# The trained generator maps *every* code to a digit, so the path between two codes is a path
# between two digits. We walk along the great circle between them (spherical interpolation: in 64
# dimensions almost all of a Gaussian's mass lies near the sphere of radius $\sqrt{64}$, and the
# straight line between two codes dips inside it, where the generator saw few codes). Drag the
# slider (or focus it and use the arrow keys):


# %%
def slerp(z0, z1, t):
    """Points along the great circle from z0 to z1 (norms interpolated linearly)."""
    u0, u1 = z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)
    angle = np.arccos(np.clip(u0 @ u1, -1.0, 1.0))
    direction = (np.sin((1 - t) * angle)[:, None] * u0 + np.sin(t * angle)[:, None] * u1) / np.sin(
        angle
    )
    return direction * ((1 - t) * np.linalg.norm(z0) + t * np.linalg.norm(z1))[:, None]


ends = ops.convert_to_numpy(fixed_z[:2])  # two codes of the snapshot grid
t = np.linspace(0.0, 1.0, 16)
path_frames = ops.convert_to_numpy(generator(slerp(ends[0], ends[1], t)))  # (16, 28, 28)
plotting.show_grid(path_frames, 1, 16)  # the static figure (also shown without JavaScript)
plt.show()
captions = [f"t = {value:.2f}" for value in t]
display(HTML(explorer.frame_slider(path_frames, captions, title="from one code to another")))

# %% [markdown]
# ## The game, step by step
#
# Losses and the balance rule's pauses, averaged over each interval of `eval_every` steps. At the
# equilibrium the seed aims for, $D$ cannot tell real from fake and both losses sit near
# $\log 2 \approx 0.69$; the rule keeps the ratio of the two losses between ½ and 2.

# %%
plotting.balance_curves(records)
plt.show()

# %% [markdown]
# ## Quality over training
#
# The three measurements at every evaluation, with the real-data floor as a dashed line:

# %%
fig, (ax_is, ax_fd, ax_cls) = plt.subplots(1, 3, figsize=(14, 3.3))
eval_steps = log.column("step")
ax_is.plot(eval_steps, log.column("score"))
ax_is.axhline(real["score"], color="black", linestyle="--", label="real digits")
ax_is.set(xlabel="step", ylabel="score (max 10)", title="Inception-style score")
ax_fd.semilogy(eval_steps, log.column("frechet"))
ax_fd.axhline(real["frechet"], color="black", linestyle="--", label="real digits")
ax_fd.set(xlabel="step", ylabel="distance", title="Fréchet distance to test digits")
ax_cls.plot(eval_steps, 100 * log.column("min_class_fraction"))
ax_cls.axhline(
    100 * min(real["class_fractions"]), color="black", linestyle="--", label="real digits"
)
ax_cls.set(xlabel="step", ylabel="% of samples", title="rarest digit's share")
for ax in (ax_is, ax_fd, ax_cls):
    ax.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %%
final = records[-1]
final_fractions = [final[f"class_{digit}"] for digit in range(10)]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(np.arange(10) - 0.2, final_fractions, width=0.4, label="generated")
ax.bar(np.arange(10) + 0.2, real["class_fractions"], width=0.4, label="real")
ax.set(xticks=range(10), xlabel="digit (as classified)", ylabel="fraction")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## Did it copy its training set?
#
# A generator could score well by reproducing training digits. For eight samples we find the
# training image nearest in pixel space; compare the distances with those from eight *test* digits
# (which the generator never saw) to their nearest training images.

# %%
samples = ops.convert_to_numpy(generator(fixed_z[:8]))
nearest = evaluation.nearest_with_ratio(samples, mnist.x_train)
sample_distance = nearest.distance
test_distance = evaluation.nearest_with_ratio(mnist.x_test[:8], mnist.x_train).distance
plotting.comparison_grid({"sample": samples, "nearest training": mnist.x_train[nearest.index]})
plt.show()
print(
    f"mean distance to the nearest training digit: samples {sample_distance.mean():.2f}, "
    f"test digits {test_distance.mean():.2f}"
)

# %% [markdown]
# ## The numbers


# %%
def first_time(condition):
    """Training seconds at the first evaluation where ``condition(record)`` holds, else None."""
    for record in records:
        if condition(record):
            return record["seconds"]
    return None


thresholds = {
    "score >= 9.0": first_time(lambda r: r["score"] >= 9.0),
    "Fréchet <= 3x real": first_time(lambda r: r["frechet"] <= 3 * real["frechet"]),
    "every class >= 5%": first_time(lambda r: r["min_class_fraction"] >= 0.05),
    "all three": first_time(
        lambda r: (
            r["score"] >= 9.0
            and r["frechet"] <= 3 * real["frechet"]
            and r["min_class_fraction"] >= 0.05
        )
    ),
}

# %%
for name, seconds in thresholds.items():
    print(
        f"{name:<20s} "
        + ("never met" if seconds is None else f"first met after {seconds:.0f} s of training")
    )
print(
    f"final: score {final['score']:.2f} (real {real['score']:.2f}), Fréchet {final['frechet']:.2f} "
    f"(real {real['frechet']:.2f}), rarest digit {final['min_class_fraction']:.1%}"
)
d_paused, g_paused = log.column("train_d_paused").mean(), log.column("train_g_paused").mean()
print(f"balance rule: D paused {d_paused:.1%} of steps, G paused {g_paused:.1%}")


# %%
def seconds_text(seconds):
    return (
        "was not reached" if seconds is None else f"was reached after {seconds:.0f} s of training"
    )


results.add("start", start, glue_it=False)
results.add("real", real, glue_it=False)
results.add("final", final, glue_it=False)
results.add("thresholds_seconds", thresholds, glue_it=False)
results.add("history", records, glue_it=False)

# %%
results.add("gan_steps", steps, "{:,}")
results.add("gan_seconds", log.seconds, "{:.0f}")
results.add("gan_ms_per_step", 1000 * log.seconds / steps, "{:.0f}")
results.add("gan_score", final["score"], "{:.2f}")
results.add("gan_frechet", final["frechet"], "{:.1f}")
results.add("gan_min_class", final["min_class_fraction"], "{:.1%}")
results.add("real_score", real["score"], "{:.2f}")
results.add("real_frechet", real["frechet"], "{:.1f}")
results.add("gan_all_three", thresholds["all three"], seconds_text(thresholds["all three"]))
results.add("d_paused_fraction", d_paused, "{:.1%}")
results.add("g_paused_fraction", g_paused, "{:.1%}")
results.add("nearest_distance_samples", sample_distance.mean(), "{:.2f}")
results.add("nearest_distance_test", test_distance.mean(), "{:.2f}")

# %% [markdown]
# After {glue:}`gan_steps` steps ({glue:}`gan_seconds` s of training, {glue:}`gan_ms_per_step` ms a
# step on this build's machine) the generator scores {glue:}`gan_score` (real digits:
# {glue:}`real_score`), its Fréchet distance to the test digits is {glue:}`gan_frechet` (real
# training digits: {glue:}`real_frechet`), and its rarest digit makes up {glue:}`gan_min_class` of
# the samples. The combined target — score ≥ 9, Fréchet distance ≤ 3× the real floor, every digit
# ≥ 5% — {glue:}`gan_all_three`. The balance rule paused $D$ in {glue:}`d_paused_fraction` and $G$ in
# {glue:}`g_paused_fraction` of the steps. Samples lie {glue:}`nearest_distance_samples` from their nearest training
# digit, test digits {glue:}`nearest_distance_test`: the generator is not copying.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - A GAN is two networks and two losses; the non-saturating generator loss keeps $G$'s gradient
#   alive when $D$ is winning.
# - The seed's balance rule runs inside the compiled train step and pauses the player that is more
#   than 2x ahead; the chapter counts how often it fires.
# - A small classifier turns "the samples look good" into numbers — a score, a Fréchet distance and
#   class shares — each next to the value real digits get.
#
# ## Exercises
#
# 1. Train with `balance = False`. Do the pauses matter for the final score?
# 2. Halve or double `g_width`. How do the step time and the time to reach the targets change?
# 3. Replace the non-saturating loss by the saturating one (`saturating=True` in `gan.GAN`) and plot
#    the generator's gradient norm (`train_g_grad_norm` in the log).

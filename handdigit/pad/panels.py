"""What DigitPad's two panels show, as widgets: a look inside the network, and the model card.

The pictures are made from arrays with Pillow (handdigit.pictures), not matplotlib, so that the
look-inside panel can follow every pen-up in milliseconds.
"""

import html
import json

import ipywidgets as widgets

from handdigit.pad.pictures import colourize, enlarge, mosaic, normalized, png_bytes


def caption(text):
    return widgets.HTML(f'<div class="hd-caption">{text}</div>')


def picture(image, text, width):
    """A captioned picture: `image` is PNG bytes or a (H, W[, 3]) uint8 array."""
    data = image if isinstance(image, bytes) else png_bytes(image)
    return widgets.VBox([caption(text), widgets.Image(value=data, format="png", width=width)])


def gallery(children):
    """A row of pictures that wraps on narrow screens."""
    box = widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap"))
    box.add_class("hd-gallery")
    return box


def look_inside(explanation):
    """Feature maps of each convolution, the saliency of the winning digit, the first-layer filters."""
    pictures = []
    for name, maps in explanation.feature_maps.items():
        height, width, channels = maps.shape
        tiles = mosaic(colourize(normalized(maps.transpose(2, 0, 1))), columns=8, gap=2)
        pictures.append(
            picture(
                enlarge(tiles, 2),
                f"Feature maps of {html.escape(name)}: {channels} channels, {height}×{width} "
                "(after ReLU; bright = strong response)",
                min(8 * 2 * (width + 2), 460),
            )
        )
    digit = explanation.prediction.digit
    pictures.append(
        picture(
            enlarge(colourize(explanation.saliency, "inferno"), 6),
            f"Saliency: how much each input pixel moves the score of {digit}",
            168,
        )
    )
    filters = mosaic(colourize(normalized(explanation.filters), "cividis"), columns=8, gap=1)
    pictures.append(
        picture(enlarge(filters, 12), f"The {len(explanation.filters)} first-layer filters (3×3)", 300)
    )
    return [gallery(pictures)]


def model_card(recognizer):
    """The architecture, and for the shipped weights their test figures, confusion matrix and curves."""
    from handdigit.recognition.head import split_head
    from handdigit.resources import MODEL_CARD, SHIPPED_WEIGHTS, weights_directory

    digits, head = split_head(recognizer.model)
    text = digits.summary_text()
    if head:
        text += (
            "\n+ not-a-digit head: one more output of the last Dense layer (256 -> 1, 257 params),"
            "\n  stored beside the network in the weights file"
        )
    summary = widgets.HTML(f'<pre class="hd-summary">{html.escape(text)}</pre>')
    card_path = weights_directory() / MODEL_CARD
    shipped = recognizer.weights_path is not None and recognizer.weights_path.name == SHIPPED_WEIGHTS
    if not (shipped and card_path.is_file()):
        return [summary, widgets.HTML('<div class="hd-note">Custom weights: no model card.</div>')]
    card = json.loads(card_path.read_text())
    test = card["test"]
    lines = [
        f"Test accuracy <b>{test['accuracy']:.2%}</b> ({test['errors']} errors in {test['images']:,}), "
        f"loss {test['loss']:.4f}, expected calibration error {test['expected_calibration_error']:.2%}.",
        f"Trained with <code>{html.escape(card['command'])}</code> ({card['epochs']} epochs, "
        f"{card['wall_time_seconds'] / 60:.0f} min on {card['machine']['cores']} CPU cores).",
    ]
    if card.get("drawn"):
        lines.append(f"Synthetic pen drawings: {card['drawn']['accuracy']:.1%} recognised.")
    figures = [
        picture((weights_directory() / card["figures"][key]).read_bytes(), text, 420)
        for key, text in (("confusion_matrix", "Confusion matrix"), ("training_curves", "Training curves"))
        if (weights_directory() / card["figures"][key]).is_file()
    ]
    return [widgets.HTML("<br>".join(lines)), gallery(figures), summary]


FOOL_INTRO = (
    "An adversarial example is an input changed slightly and on purpose so that a network answers "
    "wrongly: many tiny pixel changes, each too faint to notice, all pushing the same way. Here the "
    "network's own gradient finds the smallest such change to your drawing (as the network sees it)."
)


def fooled(attack, original):
    """The original view, the change and the changed view, with the change's size and the new answer."""
    scale = max(attack.linf, 1e-6)
    change = colourize((attack.change / scale + 1) / 2, "RdBu_r")  # red: more ink, blue: less
    if attack.fooled:
        p = attack.prediction
        verdict = (
            f"Now read as <b>{p.digit}</b> ({p.confidence:.0%}) after changing each pixel by at most "
            f"{attack.epsilon:.2f}: L2 size {attack.l2:.2f}, L∞ size {attack.linf:.2f}."
        )
    else:
        verdict = f"Not fooled within a change of {attack.epsilon:.2f} per pixel (L2 {attack.l2:.2f})."
    view = enlarge((255 * original).round().astype("uint8"), 5)
    changed = enlarge((255 * attack.image).round().astype("uint8"), 5)
    return [
        widgets.HTML(f'<div class="hd-note hd-fool-result">{verdict}</div>'),
        gallery(
            [
                picture(view, "What the network saw", 140),
                picture(enlarge(change, 5), "The change (red: more ink, blue: less)", 140),
                picture(changed, "The changed view", 140),
            ]
        ),
    ]

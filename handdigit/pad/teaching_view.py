"""The pad's "Teach it your handwriting" box: the view of a `Teacher` (handdigit.pad.teaching).

    Wrong? It is a: [0] [1] ... [9]            .hd-correct[data-digit=N]: the drawing joins your set
    [Teach] [Reset to the shipped weights]     .hd-teach, .hd-reset
    [Export my examples] [Import examples]     .hd-export (then the link .hd-export-link), .hd-import
    Your examples: 12 (3: 6, 7: 6) ...         .hd-teach-status
    [progress]                                 .hd-teach-progress while teaching
    before -> after, and the forgetting meter  .hd-teach-result, .hd-forgetting

Teaching runs in a background thread, so the pad keeps answering (with the old network) meanwhile.
"""

import base64
import html
import logging
import threading

import ipywidgets as widgets

from handdigit.pad import activity
from handdigit.pad.digit_buttons import DigitButtons
from handdigit.pad.events import visitor_event
from handdigit.pad.personal import PersonalSetError
from handdigit.pad.teaching import FORGETTING_SAMPLE, TeachingError

LOG = logging.getLogger("handdigit.pad")
MAX_IMPORT_BYTES = 50 << 20
MAX_EXPORT_LINK_BYTES = 30 << 20  # a data: link larger than this would strain the page and the websocket
PROGRESS_EVERY = 5  # steps between progress bar updates: a message to the page each time

TEACH_HELP = (
    "When the network misreads your drawing, click the digit it really is: the drawing joins your "
    "examples. <i>Teach</i> fine-tunes the network's dense layers on them, each batch mixed with "
    "MNIST digits so that it forgets little of what it knew (about 15 seconds; the forgetting meter "
    "shows how little)."
)


def _say_alert(box, sentence):
    box._say(sentence, alert=True)


_box_event = visitor_event(_say_alert)  # an action of the box never leaves the visitor without a word


STYLE = """
<style>
.hd-teach-box { border-top: 1px solid #ddd; margin-top: 8px; padding-top: 6px; max-width: 720px; }
.hd-teach-title { font-size: 16px; font-weight: 600; color: #222; }
.hd-teach-status, .hd-teach-result { font-size: 14px; color: #333; line-height: 1.45; }
.hd-meter { display: grid; grid-template-columns: 13em 1fr; gap: 3px 8px; align-items: center; max-width: 520px; }
.hd-meter-bar { position: relative; height: 16px; background: #eee; border-radius: 3px; font-size: 12px;
  line-height: 16px; padding-left: 4px; overflow: hidden; }
.hd-meter-fill { position: absolute; left: 0; top: 0; bottom: 0; background: #0072B2; opacity: 0.55; }
.hd-meter-bar.hd-after .hd-meter-fill { background: #E69F00; opacity: 0.9; }
.hd-meter-bar span { position: relative; }
.hd-forgetting.hd-forgot { color: #b00020; }
</style>
"""


class TeachingBox(widgets.VBox):
    """Correct, teach, reset, export and import; `example()` gives the pad's current drawing
    ((H, W) uint8, paper white) or a sentence saying why there is none; `use(recognizer)` makes
    the pad answer with another network."""

    def __init__(self, example, use, where, base_name="the shipped weights"):
        super().__init__()
        self.add_class("hd-teach-box")
        self._example, self._use, self._where, self._base_name = example, use, where, base_name
        self.teacher = None
        self.thread = None
        self.buttons = DigitButtons(self.correct, label="Wrong? It is a:")
        self.teach_button = widgets.Button(
            description="Teach",
            icon="graduation-cap",
            tooltip="Teach the network your examples (about 15 seconds)",
        )
        self.teach_button.add_class("hd-teach")
        self.teach_button.on_click(lambda _: self.teach())
        self.reset_button = widgets.Button(
            description=f"Reset to {base_name}",
            icon="undo",
            tooltip="Forget what was taught; your examples stay",
        )
        self.reset_button.add_class("hd-reset")
        self.reset_button.on_click(lambda _: self.reset())
        self.export_button = widgets.Button(
            description="Export my examples",
            icon="download",
            tooltip="A zip of your drawings (PNG) and labels.csv",
        )
        self.export_button.add_class("hd-export")
        self.export_button.on_click(lambda _: self.export())
        self.import_upload = widgets.FileUpload(
            accept=".zip",
            multiple=False,
            description="Import examples",
            tooltip="A zip exported by HandDigit",
        )
        self.import_upload.add_class("hd-import")
        self.import_upload.observe(self._on_import, names="value")
        for button in (self.teach_button, self.reset_button, self.export_button, self.import_upload):
            button.layout.width = "auto"
        self.export_link = widgets.HTML("")
        self.status = widgets.HTML("")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Teaching", bar_style="info")
        self.progress.add_class("hd-teach-progress")
        self.progress.layout.display = "none"
        self.result = widgets.HTML("")
        self.children = [
            widgets.HTML(
                STYLE + '<div class="hd-teach-title">Teach it your handwriting</div>'
                f'<div class="hd-caption">{TEACH_HELP}</div>'
            ),
            self.buttons,
            widgets.HBox(
                [self.teach_button, self.reset_button, self.export_button, self.import_upload],
                layout=widgets.Layout(flex_flow="row wrap", align_items="center", margin="4px 0"),
            ),
            self.export_link,
            self.status,
            self.progress,
            self.result,
        ]
        self._say("loading the network…")

    # --- state ----------------------------------------------------------------------------
    def set_teacher(self, teacher, note=None):
        """The network is loaded: teaching can start (`note`: what restoring the taught weights said)."""
        self.teacher = teacher
        self.refresh(note)

    def send_state_again(self):
        """Send what the warm-up thread set (the status, the buttons' state) to the page again: an
        update sent before the page listened is lost (see DigitPad._on_client_ready)."""
        self.status.send_state("value")
        self.buttons.send_state(["enabled", "label"])

    def set_correctable(self, correctable):
        self.buttons.enabled = bool(correctable) and self.teacher is not None

    def refresh(self, note=None):
        """The status line: how many examples, where they are kept, which weights answer."""
        if self.teacher is None:
            return
        try:
            counts = self.teacher.store.counts()
        except PersonalSetError as error:
            self._say(html.escape(str(error)), alert=True)
            return
        total = int(counts.sum())
        if total:
            per_digit = ", ".join(f"{digit}: {count}" for digit, count in enumerate(counts) if count)
            examples = f"Your examples: <b>{total}</b> ({per_digit})."
        else:
            examples = (
                "No examples yet: when the network misreads your drawing, click the digit it really is."
            )
        weights = (
            "Answering with the weights taught with your examples."
            if self.teacher.taught
            else f"Answering with {self._base_name}."
        )
        note = f"{html.escape(note)}. " if note else ""
        self._say(f"{note}{examples} {weights} {self._where}", count=total)

    def _say(self, text, alert=False, count=None):
        role = "alert" if alert else "status"
        data = "" if count is None else f' data-examples="{count}"'
        self.status.value = f'<div class="hd-teach-status" role="{role}"{data}>{text}</div>'

    # --- actions --------------------------------------------------------------------------
    @_box_event
    def correct(self, digit):
        """Keep the pad's current drawing as an example of `digit`."""
        if self.teacher is None:
            return self._say("The network is still loading.", alert=True)
        image = self._example()
        if isinstance(image, str):
            return self._say(html.escape(image), alert=True)
        try:
            count = self.teacher.correct(image, digit)
        except (PersonalSetError, OSError) as error:
            return self._say(f"Could not keep that drawing: {html.escape(str(error))}", alert=True)
        activity.note_drawing()
        self.refresh(f"Kept your drawing as a {digit}: example {count}; click Teach to learn from them")
        return count

    @_box_event
    def teach(self, background=True):
        """Teach in a background thread (or here, `background=False`, returning the report)."""
        if self.teacher is None:
            self._say("The network is still loading.", alert=True)
            return None
        if self.thread is not None and self.thread.is_alive():
            self._say("Teaching is running already.", alert=True)
            return None
        activity.note_drawing()
        self.teach_button.disabled = True
        self.teach_button.description = "Teaching…"
        self.progress.value, self.progress.max = 0, 1
        self.progress.layout.display = ""
        if not background:
            return self._teach()
        self.thread = threading.Thread(target=self._teach, name="handdigit-teach", daemon=True)
        self.thread.start()
        return None

    def _teach(self):
        def progress(step, steps):
            if step % PROGRESS_EVERY == 0 or step == steps:
                self.progress.max, self.progress.value = steps, step

        try:
            report = self.teacher.teach(progress=progress)
            self._use(self.teacher.recognizer)
            self.result.value = report_html(report)
            self.refresh()
            return report
        except TeachingError as error:
            self._say(html.escape(str(error)), alert=True)
            return None
        except Exception:
            LOG.exception("DigitPad: teaching failed")
            self._say("Teaching failed; please try again.", alert=True)
            return None
        finally:
            self.progress.layout.display = "none"
            self.teach_button.description = "Teach"
            self.teach_button.disabled = False

    @_box_event
    def reset(self):
        if self.teacher is None:
            return self._say("The network is still loading.", alert=True)
        if self.thread is not None and self.thread.is_alive():
            return self._say("Teaching is running: reset when it is done.", alert=True)
        was_taught = self.teacher.taught
        try:
            self.teacher.reset()
        except OSError as error:
            return self._say(f"Could not remove the taught weights: {html.escape(str(error))}", alert=True)
        self._use(self.teacher.recognizer)
        self.result.value = ""
        self.refresh(f"Back to {self._base_name}" if was_taught else f"Already using {self._base_name}")
        return None

    @_box_event
    def export(self):
        """A download link for the zip of the examples."""
        if self.teacher is None:
            return None
        count = len(self.teacher.store)
        if count == 0:
            self.export_link.value = '<div class="hd-note hd-export-link">No examples to export yet.</div>'
            return None
        data = self.teacher.store.export_zip()
        if len(data) > MAX_EXPORT_LINK_BYTES:
            self.export_link.value = (
                '<div class="hd-note hd-export-link">Your examples make too large a zip to download here: '
                "in Python, <code>DigitPad().store.export_zip(path)</code> writes it.</div>"
            )
            return data
        encoded = base64.b64encode(data).decode("ascii")
        self.export_link.value = (
            f'<div class="hd-note"><a class="hd-export-link" download="handdigit-examples.zip" '
            f'href="data:application/zip;base64,{encoded}">handdigit-examples.zip</a> '
            f"({count} examples, {len(data) / 1024:.0f} KB): click to save it.</div>"
        )
        return data

    @_box_event
    def import_zip(self, data, name="zip file"):
        if self.teacher is None:
            return self._say("The network is still loading.", alert=True)
        if len(data) > MAX_IMPORT_BYTES:
            return self._say(f"{html.escape(name)}: larger than {MAX_IMPORT_BYTES >> 20} MB.", alert=True)
        try:
            added = self.teacher.store.import_zip(data, name=name)
        except (PersonalSetError, OSError) as error:
            return self._say(f"Cannot import that file: {html.escape(str(error))}", alert=True)
        activity.note_drawing()
        self.refresh(f"Imported {added} examples from {name}; click Teach to learn from them")
        return added

    @_box_event
    def _on_import(self, change):
        files = change["new"]
        if not files:
            return
        try:
            self.import_zip(bytes(files[0]["content"]), name=str(files[0]["name"]))
        finally:
            self.import_upload.value = ()  # so that the same file can be chosen again


def report_html(report):
    """Before and after on your examples, and the forgetting meter on the MNIST sample."""

    def bar(fraction, after):
        return (
            f'<div class="hd-meter-bar{" hd-after" if after else ""}" role="meter" aria-valuemin="0" '
            f'aria-valuemax="100" aria-valuenow="{100 * fraction:.1f}">'
            f'<div class="hd-meter-fill" style="width:{100 * fraction:.1f}%"></div><span>{fraction:.1%}</span></div>'
        )

    forgot = " hd-forgot" if report.forgetting > 0.5 else ""
    return (
        f'<div class="hd-teach-result" data-before="{report.before:.4f}" data-after="{report.after:.4f}">'
        f"Taught with your {report.examples} examples in {report.seconds:.1f} s ({report.steps} steps).<br>"
        '<div class="hd-meter">'
        f"<span>Your examples, before</span>{bar(report.before, False)}"
        f"<span>after</span>{bar(report.after, True)}"
        "</div>"
        f'<div class="hd-forgetting{forgot}" data-before="{report.mnist_before:.4f}" '
        f'data-after="{report.mnist_after:.4f}">Forgetting meter: {FORGETTING_SAMPLE:,} MNIST test digits, '
        f"{report.mnist_before:.1%} before, {report.mnist_after:.1%} after "
        f"({-report.forgetting:+.1f} points).</div>"
        '<div class="hd-meter">'
        f"<span>MNIST sample, before</span>{bar(report.mnist_before, False)}"
        f"<span>after</span>{bar(report.mnist_after, True)}"
        "</div></div>"
    )

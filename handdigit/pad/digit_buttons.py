"""Ten buttons, 0 to 9, each `<button class="hd-correct" data-digit="N">`: "it is really an N".

ipywidgets' Button cannot carry a data attribute, and a page (or a test) should be able to find
the button for 7 by what it means, not by its position; anywidget renders these ten from a few
lines of JavaScript and sends the digit clicked back to Python as a message. A message is
checked before anything is done with it: a visitor can send any message by hand.
"""

import logging

import anywidget
import traitlets

LOG = logging.getLogger("handdigit.pad")

ESM = """
function render({ model, el }) {
  const row = document.createElement("div");
  row.className = "hd-correct-row";
  row.setAttribute("role", "group");
  const label = document.createElement("span");
  label.className = "hd-correct-label";
  row.append(label);
  const buttons = [];
  for (let digit = 0; digit < 10; digit++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "hd-correct";
    button.dataset.digit = String(digit);
    button.textContent = String(digit);
    button.setAttribute("aria-label", `It is a ${digit}`);
    button.title = `Keep this drawing as a ${digit}`;
    button.addEventListener("click", () => model.send({ digit }));
    buttons.push(button);
    row.append(button);
  }
  const update = () => {
    label.textContent = model.get("label");
    row.setAttribute("aria-label", model.get("label"));
    for (const button of buttons) button.disabled = !model.get("enabled");
  };
  model.on("change:enabled", update);
  model.on("change:label", update);
  update();
  el.append(row);
}
export default { render };
"""

CSS = """
.hd-correct-row { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; }
.hd-correct-label { font-size: 14px; color: #333; margin-right: 6px; }
.hd-correct { min-width: 34px; height: 34px; font-size: 17px; font-weight: 600; border: 1px solid #888;
  border-radius: 5px; background: #f4f4f4; color: #111; cursor: pointer; }
.hd-correct:hover:enabled { background: #E69F00; }
.hd-correct:focus-visible { outline: 3px solid #0072B2; outline-offset: 1px; }
.hd-correct:disabled { color: #aaa; cursor: default; }
"""


class DigitButtons(anywidget.AnyWidget):
    """The ten buttons; `on_digit(digit)` is called with the digit clicked while `enabled`."""

    _esm = ESM
    _css = CSS
    enabled = traitlets.Bool(False).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)

    def __init__(self, on_digit, label="", **kwargs):
        super().__init__(label=label, **kwargs)
        self._on_digit = on_digit
        self.on_msg(self._handle_message)

    def click(self, digit):
        """What a click on the button for `digit` does (for tests and scripts)."""
        self._handle_message(self, {"digit": digit}, [])

    def _handle_message(self, _widget, content, _buffers):
        digit = content.get("digit") if isinstance(content, dict) else None
        if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
            LOG.warning("DigitPad: ignored a malformed digit button message %.200r", content)
            return
        if self.enabled:
            self._on_digit(digit)

"""Stage 3, recognition: any drawing, photo or scan to a prediction (`handdigit.recognition.recognizer`),
through the image decoder (`handdigit.recognition.images`) and MNIST's format (`handdigit.preprocess`).

    from handdigit import Recognizer
    Recognizer.load().predict("digit.png").digit
"""

from handdigit.recognition.images import UnreadableImage
from handdigit.recognition.recognizer import Explanation, Prediction, Recognizer

__all__ = ["Explanation", "Prediction", "Recognizer", "UnreadableImage"]

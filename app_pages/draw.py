"""Draw: a student draws a digit and a network trained on MNIST answers after every stroke."""

import streamlit as st

from nnviz.figures.probability_html import input_image_html, probability_bars_html
from nnviz.preprocess import BlankDrawing, render_strokes
from ui.digit_canvas import digit_canvas
from ui.drawing import clear_drawing, current_digit, current_strokes, digit_likeness, store_drawing
from ui.layout import wrapping_row
from ui.resources import choose_digit_model, digit_classifier, use_one_thread_for_inference

CANVAS_SIZE = 280  # logical canvas side, 10× MNIST's 28 px; shown smaller on narrow screens
# The brush the student sees. The network gets the strokes redrawn with MNIST's stroke width
# (nnviz.preprocess.digit_from_strokes), whatever the drawing's size.
STROKE_WIDTH = 18

st.title("Draw a digit")
st.caption("Draw one digit, 0 to 9, large and in the middle. The network answers after every stroke.")
# The canvas and the answer first, the choice of network below them: on a phone the canvas, the
# answer and the probabilities then fit one screen, so a student sees the answer after each stroke.
answer_area = st.container()

model_name = choose_digit_model("draw_model", with_accuracy=True)
classifier = digit_classifier(model_name)


def clear_canvas():
    """Forget the drawing and empty the canvas: a new clear count makes the canvas wipe itself,
    and a value it still reports from before the click carries the old count and is ignored."""
    clear_drawing()
    st.session_state["canvas_clears"] = st.session_state.get("canvas_clears", 0) + 1


@st.fragment
def draw_and_answer():
    """The canvas and the answer; a stroke reruns only this part of the page."""
    use_one_thread_for_inference()
    clears = st.session_state.get("canvas_clears", 0)
    # The canvas (at most its full size), the answer in a narrow column beside it, and the details
    # beside both where there is room, else on a line of their own just under the canvas: the
    # answer stays beside the canvas down to a phone's width, where the canvas shrinks instead.
    drawing, answer, details = wrapping_row("draw", [f"flex: 1 1 0; max-width: {CANVAS_SIZE + 40}px",
                                                     "flex: 0 0 7.5rem", "flex: 1 1 22rem"], gap="small")
    with drawing:
        st.markdown("**Your drawing**")
        drawn = digit_canvas(current_strokes(), clears, brush=STROKE_WIDTH, max_size=CANVAS_SIZE + 40, key="canvas")
    with answer:
        metrics = st.container()
        st.button("Clear the canvas", icon=":material/ink_eraser:", on_click=clear_canvas)
    if drawn and drawn["clears"] == clears and drawn["strokes"] != current_strokes():
        store_drawing(render_strokes(drawn["strokes"], CANVAS_SIZE, STROKE_WIDTH), drawn["strokes"])
    try:
        prediction = classifier.predict_digit(current_digit())
    except BlankDrawing as exc:
        metrics.metric("Prediction", "—")
        details.info(str(exc), icon=":material/draw:")
        return
    metrics.metric("Prediction", prediction.label)
    metrics.metric("Confidence", f"{prediction.confidence:.1%}")
    with details:
        doubt = digit_likeness().doubt(prediction.digit, prediction.confidence)
        if doubt is not None:
            st.warning(doubt.message, icon=":material/help:")
        bars, image = st.columns([3, 2])
        with bars:
            st.html(probability_bars_html(prediction.probabilities, classifier.classes, prediction.index))
        with image:
            st.html(input_image_html(prediction.digit.image))
        st.caption("The 28×28 image: your drawing after MNIST-style preprocessing — cropped, scaled so its longer side is "
                   "20 px, redrawn with a pen as wide as MNIST's, and centred by its centre of mass in a 28×28 field. "
                   "This is all the network sees.")


with answer_area:
    draw_and_answer()

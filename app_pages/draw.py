"""Draw: a student draws a digit and a network trained on MNIST answers after every stroke."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas  # only importable inside a running app

from nnviz.figures.probabilities import input_image, probability_bars
from nnviz.preprocess import BlankDrawing
from ui.drawing import DRAWING_JSON, clear_drawing, current_drawing, store_drawing
from ui.resources import choose_digit_model, digit_classifier, use_one_thread_for_inference

CANVAS_SIZE = 280  # 10× MNIST's 28 px
# 18 px strokes on 280 px become ~2 px after scaling the digit to 20 px, like MNIST's pen strokes.
STROKE_WIDTH = 18

st.title("Draw a digit")
st.caption("Draw one digit, 0 to 9, large and in the middle. The network answers after every stroke.")

model_name = choose_digit_model("draw_model", with_accuracy=True)
classifier = digit_classifier(model_name)


def clear_canvas():
    """Forget the drawing and empty the canvas. The canvas stays mounted; a new (empty) initial
    drawing makes it reload, and its value from before the click is stale for one rerun."""
    clear_drawing()
    st.session_state["canvas_clears"] = st.session_state.get("canvas_clears", 0) + 1
    st.session_state["canvas_initial"] = {"objects": [], "clears": st.session_state["canvas_clears"]}
    st.session_state["canvas_stale"] = True


@st.fragment
def draw_and_answer():
    """The canvas and the answer; a stroke reruns only this part of the page."""
    use_one_thread_for_inference()
    if "canvas" not in st.session_state:
        # The canvas is (re)mounted: coming back to this page redraws the strokes kept in session.
        st.session_state["canvas_initial"] = st.session_state.get(DRAWING_JSON)
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.markdown("**Your drawing**")
        result = st_canvas(stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
                           width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                           initial_drawing=st.session_state["canvas_initial"], return_image_data=True, key="canvas")
        st.button("Clear the canvas", icon=":material/ink_eraser:", on_click=clear_canvas)
    if st.session_state.pop("canvas_stale", False):
        pass  # the canvas still reports the drawing that was just cleared
    elif result.image_data is not None:
        store_drawing(result.image_data, result.json_data)
    drawing = current_drawing()
    with right:
        try:
            if drawing is None:
                raise BlankDrawing()
            prediction = classifier.predict_image(drawing)
        except BlankDrawing as exc:
            st.metric("Prediction", "—")
            st.info(str(exc), icon=":material/draw:")
            return
        c1, c2 = st.columns(2)
        c1.metric("Prediction", prediction.label)
        c2.metric("Confidence", f"{prediction.confidence:.1%}")
        if prediction.confidence < 0.6:
            st.warning("The network is unsure: several digits look plausible to it. Try drawing more clearly.")
        bars, image = st.columns([3, 2])
        bars.plotly_chart(probability_bars(prediction.probabilities, classifier.classes, prediction.index),
                          width="stretch", config={"displayModeBar": False})
        image.plotly_chart(input_image(prediction.digit.image), width="stretch", config={"displayModeBar": False})
        st.caption("Right: your drawing after MNIST-style preprocessing — cropped, scaled so its longer side is "
                   "20 px, and centred by its centre of mass in a 28×28 field. This is all the network sees.")


draw_and_answer()

"""The ceiling: a Flask app on the same gunicorn that only reads the body and answers 202."""

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/")
    def accept():
        request.get_data()
        return {"accepted": 1, "ignored": 0}, 202

    return app

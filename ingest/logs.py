"""(being written)"""

from flask import Blueprint

blueprint = Blueprint("ingest_logs", __name__)

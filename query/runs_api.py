"""(being written)"""

from flask import Blueprint

blueprint = Blueprint("runs_api", __name__)

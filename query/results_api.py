"""(being written)"""

from flask import Blueprint

blueprint = Blueprint("results_api", __name__)

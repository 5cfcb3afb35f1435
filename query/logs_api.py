"""(being written)"""

from flask import Blueprint

blueprint = Blueprint("logs_api", __name__)

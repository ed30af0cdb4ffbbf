#!/bin/sh
jq -n --arg v "$(cat /app/VERSION)" "{app: \"bench\", version: \$v}"

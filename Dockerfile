# Production image: the same code for web (gunicorn), worker and beat; settings from the environment.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DREAMSEED_ENV=production

# pango for WeasyPrint, gettext to compile catalogues, Noto CJK so PDFs can show Korean.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-noto-cjk gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/prod.txt

COPY . .
# Build-time only: a throwaway random key so collectstatic can import settings (production
# settings refuse a short or placeholder key); never stored in the image.
RUN export SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
 && python manage.py compilemessages --ignore=.venv \
 && python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 dreamseed && chown -R dreamseed /app
USER dreamseed

EXPOSE 8000
CMD ["gunicorn", "dreamseed.wsgi:application", "--config", "dreamseed/gunicorn_conf.py"]
